package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
)

type expectedImages struct {
	Labels    []string
	Tolerance float64
	Cases     []struct {
		File  string
		Probs []float64
	}
}

// Each committed test image, uploaded as PNG, returns the probabilities
// torch computed at export time: decoding, Go preprocessing, the batcher and
// ORT together reproduce the training pipeline.
func TestImagingMatchesTorch(t *testing.T) {
	s := newTestServer(t, nil)
	for _, m := range []struct{ model, route string }{
		{"chest-xray", "/v1/imaging/chest"},
		{"dermatology", "/v1/dermatology"},
	} {
		dir := filepath.Join("..", "models", m.model, "testdata")
		raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		var exp expectedImages
		if err := json.Unmarshal(raw, &exp); err != nil {
			t.Fatal(err)
		}
		for i, c := range exp.Cases {
			img, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			var rec = do(t, s, "POST", m.route, "image/png", img)
			if i%2 == 1 { // the multipart form carries the same image
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				fw, _ := mw.CreateFormFile("image", c.File)
				fw.Write(img)
				mw.Close()
				rec = do(t, s, "POST", m.route, mw.FormDataContentType(), body.Bytes())
			}
			if rec.Code != 200 {
				t.Fatalf("%s %s: %d %s", m.model, c.File, rec.Code, rec.Body)
			}
			var resp struct {
				Findings []struct {
					Label       string
					Name        string
					Probability float64
				}
				Input struct {
					Format        string
					Width, Height int
				}
				Department string
				Urgency    *struct{ Level string }
				Models     []struct{ Name, Version string }
				Disclaimer string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.Findings) != len(exp.Labels) || resp.Input.Format != "png" || resp.Models[0].Name != m.model || resp.Disclaimer == "" {
				t.Fatalf("%s %s: %s", m.model, c.File, rec.Body)
			}
			got := map[string]float64{}
			for j, f := range resp.Findings {
				got[f.Label] = f.Probability
				if j > 0 && f.Probability > resp.Findings[j-1].Probability {
					t.Errorf("findings not best first: %s", rec.Body)
				}
			}
			for j, label := range exp.Labels {
				// The API rounds probabilities to 4 decimals.
				if d := got[label] - c.Probs[j]; d > exp.Tolerance+5e-5 || d < -exp.Tolerance-5e-5 {
					t.Errorf("%s %s: p(%s) = %.5f, torch %.5f", m.model, c.File, label, got[label], c.Probs[j])
				}
			}
			if m.model == "dermatology" && (resp.Department != "13" || resp.Urgency == nil) {
				t.Errorf("dermatology answer lacks department 13 or urgency: %s", rec.Body)
			}
		}
	}
}

// Without a dermatology model in the repository the route says so with 503,
// never a made-up answer.
func TestDermatologyWithoutModel(t *testing.T) {
	dir := t.TempDir()
	abs, _ := filepath.Abs(filepath.Join("..", "models", "cnn-test"))
	if err := os.Symlink(abs, filepath.Join(dir, "cnn-test")); err != nil {
		t.Fatal(err)
	}
	repo, err := inference.OpenRepository(dir, inference.RepositoryOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	s := New(DefaultConfig(), Deps{Models: repo, Imaging: imaging.NewService(repo)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	img, err := os.ReadFile(filepath.Join("..", "models", "dermatology", "testdata", "test_0005_mel.png"))
	if err != nil {
		t.Fatal(err)
	}
	rec := do(t, s, "POST", "/v1/dermatology", "image/png", img)
	var e errorBody
	json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != 503 || e.Error.Code != CodeUnavailable || !strings.Contains(e.Error.Message, "dermatology") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
