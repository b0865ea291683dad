package triage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

// The embedding bag answers exactly what the whole model answers through
// the repository for one row, on every head and on real index vectors
// (vignette texts, with and without age and sex).
func TestEmbeddingBagMatchesWholeModel(t *testing.T) {
	repo := openExports(t, "no exported model: %[2]v", deptExport, diseaseExport, urgencyExport)
	kg, x := kgAndExtractor(t)
	e, err := New(kg, x, repo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", "胸口疼得厉害，出了一身冷汗", "皮肤起了很多红疹子，特别痒",
		"月经推迟两周了，小肚子隐隐作痛", "头疼三天了，有点恶心，不发烧", "你好", "尿频尿急，小便的时候疼，腰也酸"}
	age := 40.0
	for _, h := range []*classifier{e.dept, e.disease, e.urgency} {
		if h == nil || h.bag == nil {
			t.Fatalf("head without an embedding bag: %+v", h)
		}
		for _, text := range texts {
			for _, req := range []Request{{Text: text}, {Text: text, Age: &age, Sex: "female"}} {
				idx := newInputs(e.buildCase(&req)).of(h)
				got, err := h.bag.predict(idx)
				if err != nil {
					t.Fatal(err)
				}
				res, err := repo.Infer(context.Background(), inference.Request{Model: h.name, Version: h.version, Inputs: []inference.Tensor{{
					Name: h.input, DataType: inference.INT64, Shape: []int64{1, int64(len(idx))}, Data: idx}}})
				if err != nil {
					t.Fatal(err)
				}
				for o := range res.Outputs {
					want, have := res.Outputs[o].Data.([]float32), got[o].Data.([]float32)
					if !slices.Equal(want, have) {
						t.Fatalf("%s output %d differs from the whole model for a vignette", h.name, o)
					}
				}
			}
		}
	}
}

// halfToFloat widens every class of half-precision value exactly.
func TestHalfToFloat(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x7bff, 65504},
		{0x0001, float32(math.Ldexp(1, -24))}, {0x03ff, float32(math.Ldexp(1023, -24))}, {0x0400, float32(math.Ldexp(1, -14))},
	} {
		if got := halfToFloat(c.h); got != c.want {
			t.Errorf("halfToFloat(%#04x) = %g, want %g", c.h, got, c.want)
		}
	}
	if got := halfToFloat(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("halfToFloat(-0) = %g", got)
	}
	if got := halfToFloat(0x7c00); !math.IsInf(float64(got), 1) {
		t.Errorf("halfToFloat(+inf) = %g", got)
	}
	if got := halfToFloat(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat(NaN) = %g", got)
	}
}

// Requests run the heads' tails from many goroutines on one session each:
// the answers are the same as one at a time.
func TestEmbeddingBagConcurrent(t *testing.T) {
	e := modelEngine(t)
	req := Request{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子"}
	idx := newInputs(e.buildCase(&req)).of(e.disease)
	want, err := e.disease.bag.predict(idx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := e.disease.bag.predict(idx)
				if err != nil {
					errs <- err
					return
				}
				for o := range want {
					if !slices.Equal(want[o].Data.([]float32), got[o].Data.([]float32)) {
						errs <- fmt.Errorf("output %d differs when run concurrently", o)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
