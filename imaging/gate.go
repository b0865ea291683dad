package imaging

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fenzhen/fenzhen/inference"
)

// The input gate decides, before and beside the classifier, whether an image
// is something the model reads. It refuses (ErrRejected, HTTP 422) what no
// clinician would want a result for, and flags (Quality.OK false, HTTP 200)
// what may still be worth a look:
//
//	check            measured on                               refused                       flagged
//	too_small        decoded width/height                       a side < 8 px                 a side < the model's input side
//	aspect_ratio     decoded width/height                       long/short side > 4           > 2
//	blank            luma std of the thumbnail                  < 3 (of 255)                  —
//	wrong_modality   mean chroma of the thumbnail               grey model: > 8; colour model: < 6 (of 255)
//	noise            neighbour correlation of thumbnail luma    < 0.5                         —
//	document         paper share and neighbour correlation      paper > 0.6 and colourless, or paper > 0.05 and correlation < 0.8
//	out_of_distribution  the model's "ood" output               > gate.ood_refuse             > gate.ood_flag
//
// The thumbnail is the decoded image area-resized to at most 64 pixels a
// side, channels kept. The thresholds were set from the validation images of both
// models (none of them is refused by a rule) and the synthetic junk of
// `fenzhen eval imaging`; the OOD thresholds are calibrated per model on its
// validation split by its train.py and written to config.yaml.

// ErrRejected: the image is not what the model reads (wrong modality,
// blank, a document, noise, far outside the training data). HTTP 422.
var ErrRejected = errors.New("image rejected by the input gate")

// Gate check codes, in Quality.Issues and in RejectError.Check.
const (
	CheckTooSmall     = "too_small"
	CheckAspect       = "aspect_ratio"
	CheckBlank        = "blank"
	CheckModality     = "wrong_modality"
	CheckDocument     = "document"
	CheckNoise        = "noise"
	CheckOutOfDistrib = "out_of_distribution"
)

// Gate thresholds (see the table above).
const (
	minSideRefuse     = 8
	aspectFlag        = 2.0
	aspectRefuse      = 4.0
	blankStd          = 3.0
	greyMaxChroma     = 8.0
	colourMinChroma   = 6.0
	documentPaper     = 0.6  // this much paper-white is a page, whatever else is on it
	documentSomePaper = 0.05 // some paper-white with choppy (glyph) texture is a page too
	documentMaxCorr   = 0.8
	noiseMinCorr      = 0.5
	paperLuma         = 215.0
	paperMaxChroma    = 20.0
)

// RejectError is a gate refusal: the check that failed and a Chinese message
// saying what was expected. It wraps ErrRejected.
type RejectError struct {
	Check   string
	Message string
}

func (e *RejectError) Error() string { return e.Message + "（" + e.Check + "）" }

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

// Quality is the response's verdict on the input: OK false means the result
// was computed but the image is not what the model was validated on, and
// Reason (Chinese) says why; Issues holds the check codes.
type Quality struct {
	OK     bool     `json:"ok"`
	Reason string   `json:"reason,omitempty"`
	Issues []string `json:"issues,omitempty"`
	// OODScore is the model's out-of-distribution score over its flag
	// threshold: above 1 the image is flagged. Absent when the model has none.
	OODScore *float64 `json:"ood_score,omitempty"`
}

func (q *Quality) flag(check, reason string) {
	q.OK = false
	q.Issues = append(q.Issues, check)
	if q.Reason != "" {
		q.Reason += "；"
	}
	q.Reason += reason
}

// GateStats are the measurements the rule checks read, exported for eval.
type GateStats struct {
	LumaStd  float64 // standard deviation of the luma, 0..255
	Chroma   float64 // mean of max(R,G,B) − min(R,G,B), 0..255; 0 for grey images
	Paper    float64 // share of pixels that are bright (luma ≥ 215) and nearly colourless (chroma ≤ 20)
	NeighCor float64 // correlation of luma between horizontally and vertically adjacent pixels
}

// statsSide bounds the thumbnail the rule checks measure: the image is
// area-resized to at most statsSide pixels a side, never enlarged (an
// enlarged image would have made-up correlation between neighbours).
const statsSide = 64

// Stats measures img on its thumbnail (at most statsSide a side, channels kept).
func Stats(img *Image) GateStats {
	c := img.Channels
	w, h := min(img.Width, statsSide), min(img.Height, statsSide)
	th := make([]float64, w*h*c)
	thumbnail(th, img.Pix, img.Width, img.Height, c, w, h)
	luma := make([]float64, w*h)
	var st GateStats
	var sum, sum2 float64
	paper := 0
	for i := range luma {
		var y, chroma float64
		if c == 3 {
			r, g, b := th[3*i], th[3*i+1], th[3*i+2]
			y = lumaR*r + lumaG*g + lumaB*b
			chroma = math.Max(r, math.Max(g, b)) - math.Min(r, math.Min(g, b))
		} else {
			y = th[i]
		}
		luma[i] = y
		sum += y
		sum2 += y * y
		st.Chroma += chroma
		if y >= paperLuma && chroma <= paperMaxChroma {
			paper++
		}
	}
	n := float64(len(luma))
	mean := sum / n
	st.LumaStd = math.Sqrt(math.Max(0, sum2/n-mean*mean))
	st.Chroma /= n
	st.Paper = float64(paper) / n
	// Pearson correlation of (pixel, right neighbour) and (pixel, lower neighbour) pairs.
	var sa, sb, saa, sbb, sab, m float64
	pair := func(a, b float64) {
		sa += a
		sb += b
		saa += a * a
		sbb += b * b
		sab += a * b
		m++
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if x+1 < w {
				pair(luma[y*w+x], luma[y*w+x+1])
			}
			if y+1 < h {
				pair(luma[y*w+x], luma[(y+1)*w+x])
			}
		}
	}
	if m > 0 {
		cov := sab/m - sa/m*sb/m
		va, vb := saa/m-sa/m*sa/m, sbb/m-sb/m*sb/m
		if va > 1e-9 && vb > 1e-9 {
			st.NeighCor = cov / math.Sqrt(va*vb)
		} else {
			st.NeighCor = 1 // constant: the blank check speaks for it
		}
	}
	return st
}

// thumbnail area-resizes an interleaved w×h×c 8-bit image to dw×dh×c (float, 0..255).
func thumbnail(dst []float64, pix []uint8, w, h, c, dw, dh int) {
	xw, yw := areaWeights(w, dw), areaWeights(h, dh)
	tmp := make([]float64, h*dw*c)
	for y := 0; y < h; y++ {
		row := pix[y*w*c : (y+1)*w*c]
		for ox, ws := range xw {
			for ch := 0; ch < c; ch++ {
				s := 0.0
				for _, e := range ws {
					s += float64(row[e.src*c+ch]) * e.w
				}
				tmp[(y*dw+ox)*c+ch] = s
			}
		}
	}
	for oy, ws := range yw {
		for i := 0; i < dw*c; i++ {
			s := 0.0
			for _, e := range ws {
				s += tmp[e.src*dw*c+i] * e.w
			}
			dst[oy*dw*c+i] = s
		}
	}
}

// what each model expects, for the messages.
var expectText = map[string]string{
	"grey":   "请上传胸部X光片（灰度影像，PNG、JPEG或DICOM，正位片）",
	"colour": "请上传皮损的皮肤镜彩色照片（PNG或JPEG，病灶居中）",
}

// checkInput runs the rule checks on img for a model with preprocessing p
// and gate g (nil g: only the size checks). It returns a refusal or the
// quality flags raised so far.
func checkInput(img *Image, p *inference.Preprocess, g *inference.Gate) (*Quality, error) {
	q := &Quality{OK: true}
	expect := "请上传符合模型要求的医学影像"
	if g != nil {
		expect = expectText[g.Modality]
	}
	reject := func(check, what string) error {
		return &RejectError{Check: check, Message: "图像未通过输入检查：" + what + "。" + expect + "。"}
	}
	short, long := min(img.Width, img.Height), max(img.Width, img.Height)
	if short < minSideRefuse {
		return nil, reject(CheckTooSmall, fmt.Sprintf("图像只有%d×%d像素，无法判读", img.Width, img.Height))
	}
	if img.Width < p.Width || img.Height < p.Height {
		q.flag(CheckTooSmall, fmt.Sprintf("图像分辨率（%d×%d）低于模型输入（%d×%d），结果可靠性降低", img.Width, img.Height, p.Width, p.Height))
	}
	ratio := float64(long) / float64(short)
	want := float64(max(p.Width, p.Height)) / float64(min(p.Width, p.Height))
	if ratio/want > aspectRefuse {
		return nil, reject(CheckAspect, fmt.Sprintf("图像宽高比为%.1f:1，不像一张完整的影像", ratio))
	}
	if ratio/want > aspectFlag {
		q.flag(CheckAspect, fmt.Sprintf("图像宽高比（%.1f:1）与模型输入相差较大，缩放后形变明显", ratio))
	}
	if g == nil {
		return q, nil
	}
	st := Stats(img)
	switch {
	case st.LumaStd < blankStd:
		return nil, reject(CheckBlank, "图像几乎是单一颜色（空白、全黑或纯色），没有可判读的内容")
	case g.Modality == "grey" && st.Chroma > greyMaxChroma:
		return nil, reject(CheckModality, "这是一张彩色照片，不是X光片")
	case g.Modality == "colour" && st.Chroma < colourMinChroma:
		return nil, reject(CheckModality, "这是一张灰度图像（如X光片或黑白照片），不是皮肤镜彩色照片")
	case st.NeighCor < noiseMinCorr:
		return nil, reject(CheckNoise, "图像像是随机噪声，没有连续的解剖或皮损结构")
	case st.Paper > documentPaper && st.Chroma < colourMinChroma, st.Paper > documentSomePaper && st.NeighCor < documentMaxCorr:
		return nil, reject(CheckDocument, "图像像是文字、表格或文档（大片白底），不是医学影像")
	}
	return q, nil
}

// checkOOD applies the model's out-of-distribution thresholds to score.
func checkOOD(q *Quality, score float64, g *inference.Gate) error {
	if g == nil || g.OODFlag <= 0 {
		return nil
	}
	r := math.Round(score/g.OODFlag*1000) / 1000
	q.OODScore = &r
	if g.OODRefuse > 0 && score > g.OODRefuse {
		return &RejectError{Check: CheckOutOfDistrib, Message: "图像未通过输入检查：图像与模型训练所用的影像差别很大，模型无法给出可信结果。" + expectText[g.Modality] + "。"}
	}
	if score > g.OODFlag {
		q.flag(CheckOutOfDistrib, "图像与模型训练所用的影像差异较大，结果仅供参考，请结合临床判断")
	}
	return nil
}

// IssuesString joins the quality issues for logs and eval tables.
func (q *Quality) IssuesString() string { return strings.Join(q.Issues, ",") }
