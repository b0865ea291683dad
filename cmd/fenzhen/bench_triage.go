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
)

// triageSentences are colloquial complaints of several departments and ages.
var triageSentences = []map[string]any{
	{"text": "三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子", "age": 3, "sex": "male"},
	{"text": "胸口疼得厉害，出了一身冷汗", "age": 58, "sex": "male"},
	{"text": "最近老是胃疼，吃完饭胀气反酸", "age": 35},
	{"text": "皮肤起了很多红疹子，特别痒", "age": 24, "sex": "female"},
	{"text": "月经推迟两周了，小肚子隐隐作痛", "age": 28, "sex": "female"},
	{"text": "头疼三天了，有点恶心，不发烧", "age": 42},
	{"text": "眼睛红，早上起来眼屎很多", "age": 9},
	{"text": "牙疼得睡不着觉，左边脸有点肿", "age": 31},
	{"text": "尿频尿急，小便的时候疼", "age": 45, "sex": "female"},
	{"text": "最近总是睡不着，心情很低落，对什么都提不起兴趣", "age": 22},
}

// benchTriage serves the full stack in-process and drives POST /v1/triage.
func benchTriage(ctx context.Context, concurrency int, d time.Duration) ([]bench.Stats, error) {
	cfg := api.DefaultConfig()
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
	url := "http://" + ln.Addr().String() + "/v1/triage"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}, Timeout: 30 * time.Second}
	var next atomic.Uint64
	post := func(ctx context.Context) error {
		body := bodies[next.Add(1)%uint64(len(bodies))]
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
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
