package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/imaging/npy"
	"github.com/fenzhen/fenzhen/inference"
)

type imagingAnswer struct {
	Findings []struct {
		Label       string
		Probability float64
	}
	Decision *struct {
		Label          string
		OperatingPoint string `json:"operating_point"`
		Threshold      *float64
	}
	Quality *struct {
		OK       bool
		Reason   string
		Issues   []string
		OODScore *float64 `json:"ood_score"`
	}
	Error *struct{ Code, Message string }
}

func decodeAnswer(t *testing.T, body []byte) imagingAnswer {
	t.Helper()
	var a imagingAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

// What the committed models and the gate make of the gate fixtures, through
// HTTP: "ok", "flag:<issues>", "refuse:<check>" (422 with a Chinese message
// ending in the check's code) or "400".
func TestImagingGateHTTP(t *testing.T) {
	s := newTestServer(t, nil)
	gate := filepath.Join("..", "imaging", "testdata", "gate")
	cases := []struct {
		route, file, ct, want string
	}{
		{"/v1/imaging/chest", "gate/chest_normal.png", "image/png", "ok"},
		{"/v1/imaging/chest", "gate/derm_nv.png", "image/png", "refuse:wrong_modality"},
		{"/v1/imaging/chest", "gate/junk_blank_00.png", "image/png", "refuse:blank"},
		{"/v1/imaging/chest", "gate/junk_text_02.png", "image/png", "refuse:document"},
		{"/v1/imaging/chest", "gate/junk_noise_01.png", "image/png", "refuse:noise"},
		{"/v1/imaging/chest", "gate/chest_16x16.png", "image/png", "flag:too_small"},
		{"/v1/imaging/chest", "gate/chest_strip_150x28.png", "image/png", "refuse:aspect_ratio"},
		{"/v1/imaging/chest", "dicom/multiframe_u8.dcm", "application/dicom", "flag:too_small,out_of_distribution"}, // an XA frame: small and atypical
		{"/v1/imaging/chest?operating_point=fastest", "gate/chest_normal.png", "image/png", "400"},
		{"/v1/dermatology", "gate/derm_nv.png", "image/png", "ok"},
		{"/v1/dermatology", "gate/chest_normal.png", "image/png", "refuse:wrong_modality"},
		{"/v1/dermatology", "gate/derm_grey.png", "image/png", "refuse:wrong_modality"},
		{"/v1/dermatology", "gate/junk_blank_03.png", "image/png", "refuse:blank"},
		{"/v1/dermatology", "gate/junk_text_01.png", "image/png", "refuse:document"},
		{"/v1/dermatology", "gate/derm_48x48.png", "image/png", "flag:too_small"},
		{"/v1/dermatology?operating_point=screening", "gate/derm_nv.png", "image/png", "400"},
	}
	for _, c := range cases {
		body, err := os.ReadFile(filepath.Join(gate, "..", c.file))
		if err != nil {
			t.Fatal(err)
		}
		rec := do(t, s, "POST", c.route, c.ct, body)
		a := decodeAnswer(t, rec.Body.Bytes())
		got := ""
		switch {
		case rec.Code == 200 && a.Quality.OK:
			got = "ok"
		case rec.Code == 200:
			got = "flag:" + strings.Join(a.Quality.Issues, ",")
			if a.Quality.Reason == "" {
				t.Errorf("%s %s: flagged without a reason", c.route, c.file)
			}
		case rec.Code == 422:
			msg := a.Error.Message
			if a.Error.Code != CodeUnprocessable || !strings.Contains(msg, "请上传") {
				t.Errorf("%s %s: %s", c.route, c.file, rec.Body)
			}
			got = "refuse:" + strings.TrimSuffix(msg[strings.LastIndex(msg, "（")+len("（"):], "）")
		default:
			got = fmt.Sprint(rec.Code)
		}
		if got != c.want {
			t.Errorf("%s %s: %s, want %s (%s)", c.route, c.file, got, c.want, rec.Body)
		}
	}
}

// Both operating points of the chest model: screening's threshold is below
// balanced's, so a film decided as pneumonia at balanced is also at screening.
func TestChestOperatingPoints(t *testing.T) {
	s := newTestServer(t, nil)
	cfg, err := inference.LoadConfig(filepath.Join("..", "models", "chest-xray", "1", "config.yaml"), "chest-xray")
	if err != nil {
		t.Fatal(err)
	}
	ops := cfg.OperatingPoints
	if ops == nil || ops.Default != "balanced" || ops.Points["screening"].Threshold == nil || ops.Points["balanced"].Threshold == nil ||
		*ops.Points["screening"].Threshold >= *ops.Points["balanced"].Threshold {
		t.Fatalf("chest-xray operating points %+v", ops)
	}
	dir := filepath.Join("..", "models", "chest-xray", "testdata")
	files, _ := filepath.Glob(filepath.Join(dir, "test_*.png"))
	for _, f := range files {
		img, _ := os.ReadFile(f)
		var p1 float64
		for _, point := range []string{"", "balanced", "screening"} {
			route := "/v1/imaging/chest"
			if point != "" {
				route += "?operating_point=" + point
			}
			rec := do(t, s, "POST", route, "image/png", img)
			if rec.Code != 200 {
				t.Fatalf("%s %s: %d %s", route, f, rec.Code, rec.Body)
			}
			a := decodeAnswer(t, rec.Body.Bytes())
			for _, fd := range a.Findings {
				if fd.Label == "pneumonia" {
					p1 = fd.Probability
				}
			}
			want := point
			if want == "" {
				want = "balanced"
			}
			th := *ops.Points[want].Threshold
			label := "normal"
			if p1 >= th {
				label = "pneumonia"
			}
			d := a.Decision
			if d == nil || d.OperatingPoint != want || d.Threshold == nil || *d.Threshold != th || (math.Abs(p1-th) > 1e-4 && d.Label != label) {
				t.Errorf("%s %s: p(pneumonia) %.4f, decision %+v, want %s at %v", route, f, p1, d, label, th)
			}
		}
	}
}

// On the shared test splits (skipped without them): valid images of each
// model are rarely refused or flagged, and the other model's images never
// get through. A sample keeps the test quick; `fenzhen eval imaging` runs
// the whole splits and the synthetic junk.
func TestImagingGateOnData(t *testing.T) {
	dir := os.Getenv("FENZHEN_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	load := func(rel string) *npy.Array {
		arrs, err := npy.ReadNPZ(filepath.Join(dir, rel), "test_images")
		if err != nil {
			t.Skipf("shared data not found (set FENZHEN_DATA to the data folder): %v", err)
		}
		return arrs["test_images"]
	}
	chest, derm := load(filepath.Join("medmnist", "pneumoniamnist.npz")), load(filepath.Join("derm", "dermamnist_like.npz"))
	s := newTestServer(t, nil)
	const n = 60
	sample := func(a *npy.Array, i int) []byte {
		h, w, c := a.Shape[1], a.Shape[2], 1
		if len(a.Shape) == 4 {
			c = a.Shape[3]
		}
		step := a.Shape[0] / n
		pix := a.Data[i*step*h*w*c : (i*step+1)*h*w*c]
		var m image.Image
		if c == 1 {
			g := image.NewGray(image.Rect(0, 0, w, h))
			copy(g.Pix, pix)
			m = g
		} else {
			rgba := image.NewRGBA(image.Rect(0, 0, w, h))
			for k := 0; k < w*h; k++ {
				copy(rgba.Pix[4*k:], pix[3*k:3*k+3])
				rgba.Pix[4*k+3] = 255
			}
			m = rgba
		}
		var b bytes.Buffer
		png.Encode(&b, m)
		return b.Bytes()
	}
	for _, c := range []struct {
		route      string
		set        *npy.Array
		valid      bool
		maxPassing int
	}{
		{"/v1/imaging/chest", chest, true, -1},
		{"/v1/dermatology", derm, true, -1},
		{"/v1/imaging/chest", derm, false, 0},
		{"/v1/dermatology", chest, false, 0},
	} {
		caught := 0
		for i := 0; i < n; i++ {
			rec := do(t, s, "POST", c.route, "image/png", sample(c.set, i))
			switch rec.Code {
			case 200:
				if !decodeAnswer(t, rec.Body.Bytes()).Quality.OK {
					caught++
				}
			case 422:
				caught++
			default:
				t.Fatalf("%s: %d %s", c.route, rec.Code, rec.Body)
			}
		}
		if c.valid && caught > 2 || !c.valid && caught < n {
			t.Errorf("%s, valid %v: %d of %d refused or flagged", c.route, c.valid, caught, n)
		}
	}
}
