package nlp

import "testing"

// TestParseNumber: the one Chinese number reader (一百八 is 180, not 108).
func TestParseNumber(t *testing.T) {
	cases := []struct {
		in   string
		want float64
		n    int
	}{
		{"一百八", 180, 3}, {"一百八十", 180, 4}, {"一百零八", 108, 4}, {"一百八十五", 185, 5},
		{"两百", 200, 2}, {"二百五", 250, 3}, {"一千二", 1200, 3}, {"三十八", 38, 3}, {"十五", 15, 2},
		{"十几", 15, 2}, {"一二", 1, 1}, {"39.5", 39.5, 4}, {"120", 120, 3}, {"半", 0.5, 1}, {"好几", 4, 2},
		{"九十", 90, 2}, {"一百", 100, 2}, {"三", 3, 1},
	}
	for _, c := range cases {
		v, n := parseNumber([]rune(c.in), 0)
		if v != c.want || n != c.n {
			t.Errorf("parseNumber(%q) = %v, %d; want %v, %d", c.in, v, n, c.want, c.n)
		}
	}
}
