package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
)

// imagingRoutes: the HTTP route of each imaging model.
var imagingRoutes = map[string]string{
	imaging.ModelChestXray:   "/v1/imaging/chest",
	imaging.ModelDermatology: "/v1/dermatology",
}

// httpAnswer is what one POST of an image came back with.
type httpAnswer struct {
	Status   int
	Probs    []float32 // in label order (200 only)
	Decision string    // decided label (200 only)
	Flagged  bool      // 200 with quality.ok false
	Issues   []string  // quality issues, or the refusal's check code
}

// httpEval posts PNG images to a running imaging server.
type httpEval struct {
	base        string
	client      *http.Client
	concurrency int
}

// startLocalServer serves repo's imaging routes in-process, exactly as
// `fenzhen serve` does (api.New with the same imaging service), on a
// loopback port.
func startLocalServer(repo *inference.Repository) (string, func()) {
	s := api.New(api.DefaultConfig(), api.Deps{Models: repo, Imaging: imaging.NewService(repo)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := httptest.NewServer(s.Handler())
	return ts.URL, ts.Close
}

// encodePNG encodes an interleaved 8-bit grey or RGB image.
func encodePNG(pix []uint8, w, h, c int) ([]byte, error) {
	var m image.Image
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, pix)
		m = g
	} else {
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := 0; i < w*h; i++ {
			copy(rgba.Pix[4*i:4*i+3], pix[3*i:3*i+3])
			rgba.Pix[4*i+3] = 255
		}
		m = rgba
	}
	var b bytes.Buffer
	err := png.Encode(&b, m)
	return b.Bytes(), err
}

// post sends one PNG to path and reads the answer; labels order Probs.
func (e *httpEval) post(ctx context.Context, path string, img []byte, labels []string) (httpAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", e.base+path, bytes.NewReader(img))
	if err != nil {
		return httpAnswer{}, err
	}
	req.Header.Set("Content-Type", "image/png")
	resp, err := e.client.Do(req)
	if err != nil {
		return httpAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return httpAnswer{}, err
	}
	a := httpAnswer{Status: resp.StatusCode}
	switch resp.StatusCode {
	case http.StatusOK:
		var r imaging.Response
		if err := json.Unmarshal(body, &r); err != nil {
			return a, fmt.Errorf("%s: %w", path, err)
		}
		a.Probs = make([]float32, len(labels))
		for _, f := range r.Findings {
			for i, l := range labels {
				if l == f.Label {
					a.Probs[i] = float32(f.Probability)
				}
			}
		}
		if r.Decision != nil {
			a.Decision = r.Decision.Label
		}
		if r.Quality != nil && !r.Quality.OK {
			a.Flagged, a.Issues = true, r.Quality.Issues
		}
	case http.StatusUnprocessableEntity:
		var env struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal(body, &env)
		// A gate refusal ends with its check code in brackets: …（wrong_modality）
		msg := env.Error.Message
		if i := strings.LastIndex(msg, "（"); i >= 0 && strings.HasSuffix(msg, "）") {
			a.Issues = []string{strings.TrimSuffix(msg[i+len("（"):], "）")}
		} else {
			a.Issues = []string{"unprocessable"}
		}
	default:
		return a, fmt.Errorf("%s: HTTP %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return a, nil
}

// postAll posts n images (made by get) with e.concurrency workers.
func (e *httpEval) postAll(ctx context.Context, path string, n int, labels []string, get func(i int) ([]byte, error), done func()) ([]httpAnswer, error) {
	out := make([]httpAnswer, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < e.concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				img, err := get(i)
				if err == nil {
					out[i], err = e.post(ctx, path, img, labels)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				if done != nil {
					done()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return out, nil
}

// gateRates tallies answers: refused (422), flagged (200, quality.ok false),
// passed (200, ok), and how often each check fired.
type gateRates struct {
	Set                      string
	N                        int
	Refused, Flagged, Passed int
	Checks                   map[string]int
}

func tally(set string, as []httpAnswer) gateRates {
	g := gateRates{Set: set, N: len(as), Checks: map[string]int{}}
	for _, a := range as {
		switch {
		case a.Status != http.StatusOK:
			g.Refused++
		case a.Flagged:
			g.Flagged++
		default:
			g.Passed++
		}
		for _, c := range a.Issues {
			g.Checks[c]++
		}
	}
	return g
}

// Caught is the share refused or flagged.
func (g gateRates) Caught() float64 { return float64(g.Refused+g.Flagged) / float64(max(1, g.N)) }

func (g gateRates) String() string {
	keys := make([]string, 0, len(g.Checks))
	for k := range g.Checks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, g.Checks[k]))
	}
	return fmt.Sprintf("%-34s %5d  refused %5d  flagged %4d  passed %5d  caught %6.2f%%  [%s]",
		g.Set, g.N, g.Refused, g.Flagged, g.Passed, 100*g.Caught(), strings.Join(parts, ", "))
}

// httpMetrics computes the model figures from the answers to its own
// split's images at one operating point; refused images are left out (and
// counted). Labels of the decisions come from the answers themselves.
func httpMetrics(labels []string, y []int, as []httpAnswer) (*imaging.EvalResult, int) {
	var yy, pred []int
	var probs [][]float32
	refused := 0
	for i, a := range as {
		if a.Status != http.StatusOK {
			refused++
			continue
		}
		k := -1
		for j, l := range labels {
			if l == a.Decision {
				k = j
			}
		}
		if k < 0 { // no operating point: the argmax
			k = imaging.Decide(nil, a.Probs)
		}
		yy, pred, probs = append(yy, y[i]), append(pred, k), append(probs, a.Probs)
	}
	if len(yy) == 0 {
		return nil, refused
	}
	return imaging.MetricsOf(labels, yy, probs, pred), refused
}
