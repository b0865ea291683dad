package nlp

// trie is a rune trie stored as one hash map of edges, which keeps the
// structure compact and each step a single map lookup.
type trie struct {
	edges map[uint64]int32 // parent<<32 | rune → child
	value []int32          // per node: entry index + 1 (0 = none)
}

func newTrie() *trie {
	return &trie{edges: make(map[uint64]int32), value: []int32{0}}
}

func edgeKey(node int32, r rune) uint64 { return uint64(node)<<32 | uint64(uint32(r)) }

// insert stores entry index e for key, returning the previous entry (-1).
func (t *trie) insert(key []rune, e int) (prev int) {
	n := int32(0)
	for _, r := range key {
		k := edgeKey(n, r)
		c, ok := t.edges[k]
		if !ok {
			c = int32(len(t.value))
			t.value = append(t.value, 0)
			t.edges[k] = c
		}
		n = c
	}
	prev = int(t.value[n]) - 1
	t.value[n] = int32(e + 1)
	return prev
}

// longest returns the entry and length of the longest key starting at
// text[i], or -1, 0.
func (t *trie) longest(text []rune, i int) (entry, length int) {
	entry = -1
	n := int32(0)
	for j := i; j < len(text); j++ {
		c, ok := t.edges[edgeKey(n, text[j])]
		if !ok {
			break
		}
		n = c
		if v := t.value[n]; v != 0 {
			entry, length = int(v)-1, j-i+1
		}
	}
	return entry, length
}
