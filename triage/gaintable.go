package triage

import (
	"slices"
	"sync"
)

// gainTable is what gainQuestion needs from the KG and the disease head in
// index form, built once per engine: the request then walks slices instead
// of building maps keyed by symptom id (the maps were a quarter of a triage
// request's allocations).
//
// Symptoms are numbered in sorted id order, so walking them by number asks
// in the same order as sorting their ids: ties between equal scores break
// as before.
type gainTable struct {
	ids   []string       // symptom number → id, sorted
	index map[string]int // id → symptom number
	// likes: per disease (nb index), the symptoms whose likelihood is not
	// the leak — the disease's own findings, then the vague words it
	// explains — with their logarithms.
	likes [][]symLike
	// own: per disease, the numbers of its own findings (the ones a
	// question may ask).
	own [][]int32
	// question: per symptom, its KG entry has a question to ask.
	question []bool
	// ask: per symptom, its position in the disease head's ask output; -1
	// when the head does not know it or there is no head.
	ask []int32
	// scratch holds one request's working slices (gainScratch).
	scratch sync.Pool
}

// symLike is one disease's likelihood of one symptom (bayes.like).
type symLike struct {
	sym int32
	candLike
}

func newGainTable(e *Engine) *gainTable {
	t := &gainTable{index: map[string]int{}}
	add := func(id string) {
		if _, ok := t.index[id]; !ok {
			t.index[id] = 0
			t.ids = append(t.ids, id)
		}
	}
	for i, d := range e.nb.diseases {
		for id := range d.Symptoms {
			add(id)
		}
		for id := range e.nb.vague[i] {
			add(id)
		}
	}
	if e.disease != nil {
		for _, id := range e.disease.feat.Symptoms() {
			add(id)
		}
	}
	slices.Sort(t.ids)
	for k, id := range t.ids {
		t.index[id] = k
	}
	t.question = make([]bool, len(t.ids))
	t.ask = make([]int32, len(t.ids))
	for k, id := range t.ids {
		sym, ok := e.kg.Symptom(id)
		t.question[k] = ok && sym.Question != ""
		t.ask[k] = -1
		if e.disease != nil {
			if j, ok := e.disease.feat.symIndex[id]; ok {
				t.ask[k] = int32(j)
			}
		}
	}
	t.likes = make([][]symLike, len(e.nb.diseases))
	t.own = make([][]int32, len(e.nb.diseases))
	for i, d := range e.nb.diseases {
		for id, f := range d.Symptoms {
			k := int32(t.index[id])
			t.likes[i] = append(t.likes[i], symLike{k, newCandLike(0, clampFreq(f))})
			t.own[i] = append(t.own[i], k)
		}
		for id, f := range e.nb.vague[i] {
			if _, own := d.Symptoms[id]; !own {
				t.likes[i] = append(t.likes[i], symLike{int32(t.index[id]), newCandLike(0, clampFreq(f))})
			}
		}
	}
	t.scratch.New = func() any { return &gainScratch{} }
	return t
}

// gainScratch is one request's working memory, reused through a pool.
type gainScratch struct {
	asked, wanted []bool
	count         []int32    // per symptom: its candidates' likelihoods, then their end in flat
	flat          []candLike // the likelihoods grouped by symptom, candidates in order
	p, logP       []float64  // per candidate
	dep           []int      // per candidate: department slot
	pd            []float64  // per department slot: probability, yes, no, and their terms at the leak
	touched       []bool     // per department slot: a candidate of the current symptom is in it
	depIdx        map[string]int
}

// get returns scratch sized for n symptoms, cleared.
func (t *gainTable) get() *gainScratch {
	s := t.scratch.Get().(*gainScratch)
	n := len(t.ids)
	s.asked = resize(s.asked, n)
	s.wanted = resize(s.wanted, n)
	s.count = resize(s.count, n+1)
	if s.depIdx == nil {
		s.depIdx = map[string]int{}
	}
	clear(s.depIdx)
	return s
}

func (t *gainTable) put(s *gainScratch) { t.scratch.Put(s) }

// resize returns s with length n, every element zero.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// group fills s.flat with the likelihoods of the candidates cand (disease
// indices, in posterior order) grouped by symptom: the likelihoods of
// symptom k are flat[count[k]:count[k+1]], in candidate order, as the map
// of lists it replaces had them.
func (t *gainTable) group(s *gainScratch, cand []scored) {
	for _, c := range cand {
		for _, l := range t.likes[c.idx] {
			s.count[l.sym+1]++
		}
	}
	for k := 1; k < len(s.count); k++ {
		s.count[k] += s.count[k-1]
	}
	total := int(s.count[len(s.count)-1])
	if cap(s.flat) < total {
		s.flat = make([]candLike, total)
	}
	s.flat = s.flat[:total]
	// fill advances count[k] to the end of symptom k's group; the group's
	// start is then count[k-1] (0 for the first).
	for i, c := range cand {
		for _, l := range t.likes[c.idx] {
			cl := l.candLike
			cl.i = i
			s.flat[s.count[l.sym]] = cl
			s.count[l.sym]++
		}
	}
}

// likesOf is the group of symptom k after group.
func (s *gainScratch) likesOf(k int) []candLike {
	start := int32(0)
	if k > 0 {
		start = s.count[k-1]
	}
	return s.flat[start:s.count[k]]
}
