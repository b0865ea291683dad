package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/bench"
	"github.com/fenzhen/fenzhen/client"
)

// triageSentences are colloquial complaints of several departments and ages.
var triageSentences = []client.TriageRequest{
	{Text: "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", Age: client.Age(3), Sex: client.SexMale},
	{Text: "胸口疼得厉害，出了一身冷汗", Age: client.Age(58), Sex: client.SexMale},
	{Text: "最近老是胃疼，吃完饭胀气反酸", Age: client.Age(35)},
	{Text: "皮肤起了很多红疹子，特别痒", Age: client.Age(24), Sex: client.SexFemale},
	{Text: "月经推迟两周了，小肚子隐隐作痛", Age: client.Age(28), Sex: client.SexFemale},
	{Text: "头疼三天了，有点恶心，不发烧", Age: client.Age(42)},
	{Text: "眼睛红，早上起来眼屎很多", Age: client.Age(9)},
	{Text: "牙疼得睡不着觉，左边脸有点肿", Age: client.Age(31)},
	{Text: "尿频尿急，小便的时候疼", Age: client.Age(45), Sex: client.SexFemale},
	{Text: "最近总是睡不着，心情很低落，对什么都提不起兴趣", Age: client.Age(22)},
}

// benchTriage serves the full stack in-process and drives POST /v1/triage.
func benchTriage(ctx context.Context, concurrency int, d time.Duration) ([]bench.Stats, error) {
	cfg := api.DefaultConfig()
	if err := cfg.FromEnv(); err != nil { // FENZHEN_MAX_IN_FLIGHT and friends apply here too
		return nil, err
	}
	srv, cleanup, err := buildServer(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer cleanup()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Serve(sctx, ln); close(done) }()
	defer func() { stop(); <-done }()

	bodies := make([][]byte, len(triageSentences))
	for i, s := range triageSentences {
		bodies[i], _ = json.Marshal(s)
	}
	if err := preflightTriage(ctx, "http://"+ln.Addr().String()); err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String() + "/v1/triage"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	var next atomic.Uint64
	post := func(ctx context.Context) error {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	// The measured loop posts pre-encoded bodies and discards the answers:
	// through the Go client (encode + decode of every answer on the same
	// CPUs) it measured ~25% more CPU per request and fewer req/s.
	var out []bench.Stats
	for _, c := range []int{1, concurrency} {
		s, err := bench.Closed(ctx, fmt.Sprintf("POST /v1/triage, concurrency %d", c), c, d, post)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// preflightTriage sends every sentence once through the Go client and checks
// the answers, so the load run measures requests known to succeed with a
// complete triage.
func preflightTriage(ctx context.Context, baseURL string) error {
	c, err := client.New(baseURL, client.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	for i, req := range triageSentences {
		resp, err := c.Triage(ctx, req)
		if err != nil {
			return fmt.Errorf("triage sentence %d: %w", i, err)
		}
		if resp.Urgency.Level == "" || len(resp.Symptoms) == 0 || len(resp.Departments) == 0 {
			return fmt.Errorf("triage sentence %d (%s) found no symptom or department", i, req.Text)
		}
	}
	return nil
}
