package imaging

import (
	"context"
	"math"
	"testing"

	"github.com/fenzhen/fenzhen/inference"
)

func TestROCAUC(t *testing.T) {
	cases := []struct {
		s    []float64
		p    []bool
		want float64
	}{
		{[]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75}, // sklearn's doc example
		{[]float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}, 0.5},
		{[]float64{1, 2, 3}, []bool{false, true, true}, 1},
		{[]float64{0.2, 0.2, 0.9}, []bool{true, false, false}, 0.25},
	}
	for _, c := range cases {
		if got := ROCAUC(c.s, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("ROCAUC(%v, %v) = %v, want %v", c.s, c.p, got, c.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	labels := []string{"a", "b", "c"}
	y := []int{0, 0, 1, 1, 2, 2}
	p := [][]float32{{.8, .1, .1}, {.3, .6, .1}, {.1, .8, .1}, {.2, .7, .1}, {.1, .2, .7}, {.5, .1, .4}}
	m := Metrics(labels, y, p)
	if m.Accuracy != 4.0/6 || math.Abs(m.BalancedAccuracy-(0.5+1+0.5)/3) > 1e-12 {
		t.Errorf("acc %v bal %v", m.Accuracy, m.BalancedAccuracy)
	}
	if m.Confusion[0][1] != 1 || m.Confusion[2][0] != 1 {
		t.Errorf("confusion %v", m.Confusion)
	}
}

func TestEvaluateBatches(t *testing.T) {
	fr := &countingRunner{fakeRunner: fakeRunner{cfgs: map[string]*inference.ModelConfig{ModelChestXray: chestCfg}, probs: []float32{0.2, 0.8}}}
	ds := &Dataset{N: 150, Height: 28, Width: 28, Channels: 1, Pix: make([]uint8, 150*28*28), Labels: make([]int, 150)}
	for i := range ds.Labels {
		ds.Labels[i] = i % 2
	}
	m, err := Evaluate(context.Background(), fr, ModelChestXray, ds, 100)
	if err != nil {
		t.Fatal(err)
	}
	if fr.calls != 3 || m.N != 150 || m.Accuracy != 0.5 || m.AUC != 0.5 { // max_batch_size 64 caps 100
		t.Errorf("calls %d n %d acc %v auc %v", fr.calls, m.N, m.Accuracy, m.AUC)
	}
}

type countingRunner struct {
	fakeRunner
	calls int
}

func (c *countingRunner) Infer(ctx context.Context, req inference.Request) (*inference.Result, error) {
	c.calls++
	return c.fakeRunner.Infer(ctx, req)
}
