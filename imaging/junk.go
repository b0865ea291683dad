package imaging

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// JunkImage is one synthetic image that no imaging model should read.
type JunkImage struct {
	Name string // kind and index, e.g. "noise_07"
	Kind string // blank, noise or text
	Img  *Image
}

// Junk makes n images of each kind from seed: blank (constant or nearly
// constant, black, white, grey or a colour, grey or RGB), noise (uniform,
// Gaussian or salt-and-pepper, grey or colour) and text (a page or a photo of
// a form: Latin letters, digits and blocky CJK-like glyphs, ruled lines, on
// white or off-white paper with uneven light), in sizes from 28 to 1000
// pixels a side. The set is the same for the same seed and n.
func Junk(seed uint64, n int) []JunkImage {
	rng := rand.New(rand.NewPCG(seed, 0x6a756e6b))
	var out []JunkImage
	for i := 0; i < n; i++ {
		out = append(out, JunkImage{fmt.Sprintf("blank_%02d", i), "blank", junkBlank(rng, i)})
	}
	for i := 0; i < n; i++ {
		out = append(out, JunkImage{fmt.Sprintf("noise_%02d", i), "noise", junkNoise(rng, i)})
	}
	for i := 0; i < n; i++ {
		out = append(out, JunkImage{fmt.Sprintf("text_%02d", i), "text", junkText(rng, i)})
	}
	return out
}

var junkSides = []int{28, 64, 100, 224, 256, 512}

func newJunk(w, h, c int) *Image {
	return &Image{Format: FormatPNG, Width: w, Height: h, Channels: c, Pix: make([]uint8, w*h*c)}
}

func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

func junkBlank(rng *rand.Rand, i int) *Image {
	s := junkSides[i%len(junkSides)]
	c := 1 + 2*(i%2)
	img := newJunk(s, s+rng.IntN(s/4+1), c)
	base := [3]float64{}
	switch i % 4 {
	case 0: // black
	case 1:
		base = [3]float64{255, 255, 255}
	case 2:
		g := 40 + rng.Float64()*180
		base = [3]float64{g, g, g}
	default:
		base = [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255}
	}
	sd := 0.0
	if i%3 == 2 {
		sd = 1 + rng.Float64() // nearly uniform: sensor noise
	}
	for p := 0; p < img.Width*img.Height; p++ {
		for ch := 0; ch < c; ch++ {
			img.Pix[p*c+ch] = clamp8(base[ch] + rng.NormFloat64()*sd)
		}
	}
	return img
}

func junkNoise(rng *rand.Rand, i int) *Image {
	s := junkSides[i%len(junkSides)]
	c := 1 + 2*((i/len(junkSides))%2)
	img := newJunk(s+rng.IntN(s/3+1), s, c)
	for k := range img.Pix {
		switch i % 3 {
		case 0:
			img.Pix[k] = uint8(rng.IntN(256))
		case 1:
			img.Pix[k] = clamp8(128 + 50*rng.NormFloat64())
		default:
			if rng.IntN(2) == 0 {
				img.Pix[k] = 0
			} else {
				img.Pix[k] = 255
			}
		}
	}
	return img
}

// font5x7 holds 5×7 glyphs, one row a string.
var font5x7 = map[rune][7]string{
	'A': {"01110", "10001", "10001", "11111", "10001", "10001", "10001"},
	'B': {"11110", "10001", "10001", "11110", "10001", "10001", "11110"},
	'C': {"01110", "10001", "10000", "10000", "10000", "10001", "01110"},
	'D': {"11100", "10010", "10001", "10001", "10001", "10010", "11100"},
	'E': {"11111", "10000", "10000", "11110", "10000", "10000", "11111"},
	'F': {"11111", "10000", "10000", "11110", "10000", "10000", "10000"},
	'G': {"01110", "10001", "10000", "10111", "10001", "10001", "01111"},
	'H': {"10001", "10001", "10001", "11111", "10001", "10001", "10001"},
	'I': {"01110", "00100", "00100", "00100", "00100", "00100", "01110"},
	'K': {"10001", "10010", "10100", "11000", "10100", "10010", "10001"},
	'L': {"10000", "10000", "10000", "10000", "10000", "10000", "11111"},
	'M': {"10001", "11011", "10101", "10101", "10001", "10001", "10001"},
	'N': {"10001", "10001", "11001", "10101", "10011", "10001", "10001"},
	'O': {"01110", "10001", "10001", "10001", "10001", "10001", "01110"},
	'P': {"11110", "10001", "10001", "11110", "10000", "10000", "10000"},
	'R': {"11110", "10001", "10001", "11110", "10100", "10010", "10001"},
	'S': {"01111", "10000", "10000", "01110", "00001", "00001", "11110"},
	'T': {"11111", "00100", "00100", "00100", "00100", "00100", "00100"},
	'U': {"10001", "10001", "10001", "10001", "10001", "10001", "01110"},
	'X': {"10001", "10001", "01010", "00100", "01010", "10001", "10001"},
	'Y': {"10001", "10001", "10001", "01010", "00100", "00100", "00100"},
	'0': {"01110", "10001", "10011", "10101", "11001", "10001", "01110"},
	'1': {"00100", "01100", "00100", "00100", "00100", "00100", "01110"},
	'2': {"01110", "10001", "00001", "00010", "00100", "01000", "11111"},
	'3': {"11111", "00010", "00100", "00010", "00001", "10001", "01110"},
	'4': {"00010", "00110", "01010", "10010", "11111", "00010", "00010"},
	'5': {"11111", "10000", "11110", "00001", "00001", "10001", "01110"},
	'6': {"00110", "01000", "10000", "11110", "10001", "10001", "01110"},
	'7': {"11111", "00001", "00010", "00100", "01000", "01000", "01000"},
	'8': {"01110", "10001", "10001", "01110", "10001", "10001", "01110"},
	'9': {"01110", "10001", "10001", "01111", "00001", "00010", "01100"},
	':': {"00000", "01100", "01100", "00000", "01100", "01100", "00000"},
	'-': {"00000", "00000", "00000", "11111", "00000", "00000", "00000"},
	'.': {"00000", "00000", "00000", "00000", "00000", "01100", "01100"},
	'/': {"00000", "00001", "00010", "00100", "01000", "10000", "00000"},
}

var formWords = []string{"NAME:", "SEX:", "AGE:", "ID:", "DATE:", "2026-12-04", "DEPT:", "EXAM", "CHEST", "PA", "REPORT",
	"DIAGNOSIS:", "NORMAL", "IMPRESSION:", "DOCTOR:", "TEL:", "13800138000", "NO.", "BED", "12/05", "LAB", "RESULT"}

func junkText(rng *rand.Rand, i int) *Image {
	w, h := 600+rng.IntN(400), 800+rng.IntN(300)
	if i%4 == 3 { // landscape, a photo of a form
		w, h = h, w
	}
	if i%5 == 4 { // a small scan
		w, h = w/4, h/4
	}
	c := 1 + 2*(i%2)
	img := newJunk(w, h, c)
	paper := [3]float64{255, 255, 255}
	light := 0.0
	if i%3 != 0 { // off-white paper under uneven light
		t := 225 + rng.Float64()*25
		paper = [3]float64{t, t - rng.Float64()*8, t - rng.Float64()*15}
		light = 10 + rng.Float64()*20
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f := light * (float64(x)/float64(w) + float64(y)/float64(h) - 1)
			for ch := 0; ch < c; ch++ {
				img.Pix[(y*w+x)*c+ch] = clamp8(paper[ch] + f)
			}
		}
	}
	ink := [3]float64{20, 20, 25}
	if i%4 == 1 {
		ink = [3]float64{20, 40, 140} // blue ink
	}
	scale := max(1, min(w, h)/220+rng.IntN(2))
	set := func(x, y int) {
		for dy := 0; dy < scale; dy++ {
			for dx := 0; dx < scale; dx++ {
				px, py := x*scale+dx, y*scale+dy
				if px < w && py < h {
					for ch := 0; ch < c; ch++ {
						if c == 1 {
							img.Pix[py*w+px] = clamp8(lumaR*ink[0] + lumaG*ink[1] + lumaB*ink[2])
						} else {
							img.Pix[(py*w+px)*3+ch] = clamp8(ink[ch])
						}
					}
				}
			}
		}
	}
	cols, rows := w/scale, h/scale
	margin := cols / 12
	for y := margin; y+9 < rows-margin; y += 12 + rng.IntN(6) {
		x := margin
		if rng.IntN(6) == 0 { // a ruled line of a table
			for xx := margin; xx < cols-margin; xx++ {
				set(xx, y+4)
			}
			continue
		}
		for x < cols-margin-8 {
			if rng.IntN(3) == 0 { // a blocky CJK-like glyph: strokes in an 8×8 cell
				for s := 0; s < 3+rng.IntN(4); s++ {
					a, b := rng.IntN(8), rng.IntN(8)
					for k := 0; k < 8; k++ {
						if s%2 == 0 {
							set(x+k, y+a)
						} else {
							set(x+b, y+k)
						}
					}
				}
				x += 10
				continue
			}
			word := formWords[rng.IntN(len(formWords))]
			for _, r := range word {
				g := font5x7[r]
				for gy, row := range g {
					for gx, bit := range row {
						if bit == '1' {
							set(x+gx, y+gy)
						}
					}
				}
				x += 6
			}
			x += 6
			if rng.IntN(4) == 0 {
				break
			}
		}
	}
	return img
}
