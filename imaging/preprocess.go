package imaging

import (
	"fmt"

	"github.com/fenzhen/fenzhen/inference"
)

// Grey conversion uses ITU-R BT.601 luma on the 8-bit values, without
// rounding: Y = 0.299 R + 0.587 G + 0.114 B. A grey image given to a
// 3-channel model is repeated into R, G and B.
const (
	lumaR = 0.299
	lumaG = 0.587
	lumaB = 0.114
)

// Preprocess turns img into the C×H×W float32 input of a model whose config
// has preprocessing p (inference.Preprocess):
//
//  1. channels: grey → RGB by repetition, RGB → grey by BT.601 luma;
//  2. resize to p.Width×p.Height by area averaging: output pixel i along an
//     axis of source length s and target length d covers the source interval
//     [i·s/d, (i+1)·s/d) and is the mean of the source over it, each source
//     pixel weighted by its overlap (exact; upscaling repeats and blends
//     pixels at the seams);
//  3. scale to [0,1] by /255;
//  4. normalise (x − Mean[c]) / Std[c].
//
// Arithmetic is float64 throughout and rounded to float32 once at the end.
// The result has no batch dimension; stack C·H·W blocks for a batch.
func Preprocess(img *Image, p *inference.Preprocess) ([]float32, error) {
	if p == nil {
		return nil, fmt.Errorf("imaging: model config has no preprocess section")
	}
	if p.Channels != 1 && p.Channels != 3 || len(p.Mean) != p.Channels || len(p.Std) != p.Channels || p.Width < 1 || p.Height < 1 {
		return nil, fmt.Errorf("imaging: invalid preprocess %+v", *p)
	}
	if img.Channels != 1 && img.Channels != 3 || img.Width < 1 || img.Height < 1 || len(img.Pix) != img.Width*img.Height*img.Channels {
		return nil, fmt.Errorf("%w: image buffer %d bytes for %d×%d×%d", ErrCorrupt, len(img.Pix), img.Width, img.Height, img.Channels)
	}
	out := make([]float32, p.Channels*p.Width*p.Height)
	PreprocessInto(out, img.Pix, img.Width, img.Height, img.Channels, p)
	return out, nil
}

// PreprocessInto is Preprocess for a raw interleaved 8-bit buffer (w×h×c,
// c 1 or 3), writing C×H×W values into dst, which must have that length.
// Callers validate the sizes; the eval command feeds dataset arrays through it.
func PreprocessInto(dst []float32, pix []uint8, w, h, c int, p *inference.Preprocess) {
	dw, dh := p.Width, p.Height
	xw := areaWeights(w, dw)
	yw := areaWeights(h, dh)
	plane := make([]float64, w)  // one source row of one channel
	tmp := make([]float64, h*dw) // horizontally resized rows
	for oc := 0; oc < p.Channels; oc++ {
		// Horizontal pass: each source row → dw values.
		for y := 0; y < h; y++ {
			row := pix[y*w*c : (y+1)*w*c]
			switch {
			case c == p.Channels:
				for x := 0; x < w; x++ {
					plane[x] = float64(row[x*c+oc])
				}
			case c == 3: // RGB → grey
				for x := 0; x < w; x++ {
					plane[x] = lumaR*float64(row[3*x]) + lumaG*float64(row[3*x+1]) + lumaB*float64(row[3*x+2])
				}
			default: // grey → RGB
				for x := 0; x < w; x++ {
					plane[x] = float64(row[x])
				}
			}
			t := tmp[y*dw : (y+1)*dw]
			for ox, ws := range xw {
				s := 0.0
				for _, e := range ws {
					s += plane[e.src] * e.w
				}
				t[ox] = s
			}
		}
		// Vertical pass, scale and normalise.
		mean, std := float64(p.Mean[oc]), float64(p.Std[oc])
		out := dst[oc*dw*dh : (oc+1)*dw*dh]
		for oy, ws := range yw {
			for ox := 0; ox < dw; ox++ {
				s := 0.0
				for _, e := range ws {
					s += tmp[e.src*dw+ox] * e.w
				}
				out[oy*dw+ox] = float32((s/255 - mean) / std)
			}
		}
	}
}

type weight struct {
	src int
	w   float64
}

// areaWeights gives, for each of d output pixels, the source pixels of a
// length-s axis it covers and their weights (overlap / span, summing to 1).
// Positions are scaled by s·d so every bound is an integer and the
// overlaps are exact.
func areaWeights(s, d int) [][]weight {
	out := make([][]weight, d)
	for i := 0; i < d; i++ {
		lo, hi := int64(i)*int64(s), int64(i+1)*int64(s) // in units of 1/d source pixels
		for j := lo / int64(d); j < int64(s) && j*int64(d) < hi; j++ {
			a, b := max(lo, j*int64(d)), min(hi, (j+1)*int64(d))
			if b > a {
				out[i] = append(out[i], weight{int(j), float64(b-a) / float64(s)})
			}
		}
	}
	return out
}
