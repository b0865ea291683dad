package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OverloadOptions configure the overload measurement of one route.
type OverloadOptions struct {
	BaseURL     string
	Path        string   // default /v1/triage
	Bodies      [][]byte // JSON bodies sent in rotation; default OverloadTexts
	Header      http.Header
	Concurrency int           // closed-loop clients that measure the sustainable rate
	Duration    time.Duration // per phase
	Unloaded    float64       // the unloaded run's rate as a fraction of the sustainable one (default 0.25)
	Factor      float64       // the overload run's rate as a multiple of the sustainable one (default 4)
	Timeout     time.Duration // per request
	// MaxOutstanding bounds the generator's open requests; arrivals past it
	// are counted as not sent (the generator, not the server, gave up).
	MaxOutstanding int
	// Conns bounds the client's connections (default 64), as a proxy or a
	// client pool would; a request waiting for one is late, and that counts.
	Conns    int
	Progress func(string)
	// ServerCPU, when set, reads the server process's CPU time (user +
	// system) so far; each phase then reports the server's CPU per request.
	ServerCPU func() (time.Duration, error)
}

// OverloadTexts are the triage bodies of the overload run.
var OverloadTexts = []string{
	`{"text":"三岁孩子发烧两天了，最高39度，咳嗽有黄痰，不拉肚子","age":3,"sex":"male"}`,
	`{"text":"胸口疼得厉害，出了一身冷汗","age":58,"sex":"male"}`,
	`{"text":"最近老是胃疼，吃完饭胀气反酸","age":35}`,
	`{"text":"皮肤起了很多红疹子，特别痒","age":24,"sex":"female"}`,
	`{"text":"头疼三天了，有点恶心，不发烧","age":42}`,
	`{"text":"尿频尿急，小便的时候疼","age":45,"sex":"female"}`,
}

// OpenRun is one open-loop run with answers split by kind. Latencies count
// from each request's scheduled start, so queueing anywhere shows up.
type OpenRun struct {
	Name             string
	Rate             float64 // scheduled arrivals per second
	Achieved         float64 // requests actually sent per second
	Duration         time.Duration
	Sent, NotSent    int
	Admitted         int // 200
	AdmittedP50      time.Duration
	AdmittedP99      time.Duration
	Shed             int // 429 or 503 with Retry-After
	ShedP50, ShedP99 time.Duration
	Errors           int // anything else: other statuses, transport errors, timeouts
	FirstError       string
	ServerCPU        time.Duration // the server's CPU time over the run; 0 when not measured
}

// CPUPerRequest is the server's CPU time per sent request, 0 when not measured.
func (r OpenRun) CPUPerRequest() time.Duration {
	if r.Sent == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Sent)
}

// ShedFraction is the share of sent requests that were shed.
func (r OpenRun) ShedFraction() float64 {
	if r.Sent == 0 {
		return 0
	}
	return float64(r.Shed) / float64(r.Sent)
}

// OverloadReport holds the three phases and the verdict.
type OverloadReport struct {
	Options     OverloadOptions
	Sustainable Stats // closed loop: 200s per second
	ClosedShed  int   // requests shed during the closed loop
	Unloaded    OpenRun
	Overload    OpenRun
	Failures    []string
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute figure: on a
	// shared machine they say how much else was running.
	LoadBefore, LoadAfter string
}

// LoadAvg is the 1-minute load average, "" where /proc/loadavg is missing.
func LoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.Fields(string(raw) + " ")[0]
}

// Ratio is the admitted p99 under overload over the unloaded p99.
func (r *OverloadReport) Ratio() float64 {
	if r.Unloaded.AdmittedP99 == 0 {
		return 0
	}
	return float64(r.Overload.AdmittedP99) / float64(r.Unloaded.AdmittedP99)
}

// Overload measures the sustainable rate of a route with a closed loop, its
// p99 at a modest open-loop rate, then an open loop at Factor × sustainable:
// admission control should keep the admitted requests' p99 within 2× the
// unloaded one and shed the rest with 429/503 quickly.
func Overload(ctx context.Context, o OverloadOptions) (*OverloadReport, error) {
	if err := CheckLoopback(o.BaseURL); err != nil {
		return nil, err
	}
	if o.Path == "" {
		o.Path = "/v1/triage"
	}
	if len(o.Bodies) == 0 {
		for _, t := range OverloadTexts {
			o.Bodies = append(o.Bodies, []byte(t))
		}
	}
	if o.Concurrency < 1 || o.Duration <= 0 {
		return nil, errors.New("overload: concurrency and duration must be positive")
	}
	if o.Unloaded <= 0 {
		o.Unloaded = 0.25
	}
	if o.Factor <= 0 {
		o.Factor = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxOutstanding <= 0 {
		o.MaxOutstanding = 4096
	}
	if o.Conns <= 0 {
		o.Conns = 64
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	client, err := newRawClient(o.BaseURL, o.Path, o.Bodies, o.Header, o.Conns, o.Timeout)
	if err != nil {
		return nil, err
	}
	defer client.close()
	post := client.post
	rep := &OverloadReport{Options: o, LoadBefore: LoadAvg()}
	var sus Stats

	progress(fmt.Sprintf("sustainable rate: closed loop, %d clients, %s", o.Concurrency, o.Duration))
	cpu := func() time.Duration {
		if o.ServerCPU == nil {
			return 0
		}
		d, err := o.ServerCPU()
		if err != nil {
			return 0
		}
		return d
	}
	var closedShed atomic.Int64
	sus, err = Closed(ctx, fmt.Sprintf("closed loop, %d clients", o.Concurrency), o.Concurrency, o.Duration, func(ctx context.Context) error {
		status, _, err := post(ctx)
		switch {
		case err != nil:
			return err
		case status == 429 || status == 503:
			closedShed.Add(1)
			return fmt.Errorf("shed with %d", status)
		case status != 200:
			return fmt.Errorf("status %d", status)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Sustainable, rep.ClosedShed = sus, int(closedShed.Load())
	if sus.Throughput <= 0 {
		return nil, errors.New("overload: no request succeeded in the closed loop")
	}
	for _, phase := range []struct {
		name string
		mult float64
		dst  *OpenRun
	}{{"unloaded", o.Unloaded, &rep.Unloaded}, {"overload", o.Factor, &rep.Overload}} {
		rate := phase.mult * sus.Throughput
		// Open the client's connections first, so the run measures serving
		// rather than TCP handshakes.
		warm(ctx, o.Conns, post)
		progress(fmt.Sprintf("%s: open loop at %.0f req/s (%.2f× sustainable), %s", phase.name, rate, phase.mult, o.Duration))
		cpu0 := cpu()
		*phase.dst = openRun(ctx, fmt.Sprintf("%s, %.2f× sustainable", phase.name, phase.mult), rate, o.Duration, o.MaxOutstanding, post)
		if o.ServerCPU != nil {
			phase.dst.ServerCPU = cpu() - cpu0
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.LoadAfter = LoadAvg()
	rep.judge()
	return rep, nil
}

// warm sends n requests at once, twice, to fill the connection pool.
func warm(ctx context.Context, n int, post func(context.Context) (int, bool, error)) {
	for range 2 {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); post(ctx) }()
		}
		wg.Wait()
	}
}

// openRun sends at rate for d and classifies every answer.
func openRun(ctx context.Context, name string, rate float64, d time.Duration, maxOutstanding int, post func(context.Context) (int, bool, error)) OpenRun {
	run := OpenRun{Name: name, Rate: rate}
	var mu sync.Mutex
	var admitted, shed []time.Duration
	sem := make(chan struct{}, maxOutstanding)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= d {
			break
		}
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		select {
		case sem <- struct{}{}:
		default:
			run.NotSent++
			continue
		}
		run.Sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			status, retryAfter, err := post(ctx)
			el := time.Since(at)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				run.Errors++
				run.FirstError = cmpOr(run.FirstError, err.Error())
			case status == 200:
				admitted = append(admitted, el)
			case (status == 429 || status == 503) && retryAfter:
				shed = append(shed, el)
			default:
				run.Errors++
				run.FirstError = cmpOr(run.FirstError, fmt.Sprintf("status %d", status))
			}
		}()
	}
	sendTime := time.Since(start)
	wg.Wait()
	run.Duration = time.Since(start)
	run.Achieved = float64(run.Sent) / sendTime.Seconds()
	run.Admitted, run.Shed = len(admitted), len(shed)
	run.AdmittedP50, run.AdmittedP99 = percentile(admitted, 0.50), percentile(admitted, 0.99)
	run.ShedP50, run.ShedP99 = percentile(shed, 0.50), percentile(shed, 0.99)
	return run
}

// judge applies the acceptance: no errors, the unloaded run unshed, the
// overload run actually overloaded (something shed), admitted p99 within 2×
// the unloaded p99, and shed answers faster than an admitted answer's 2× budget.
func (r *OverloadReport) judge() {
	fail := func(format string, args ...any) { r.Failures = append(r.Failures, fmt.Sprintf(format, args...)) }
	u, o := r.Unloaded, r.Overload
	if u.Errors+o.Errors > 0 {
		fail("%d requests failed without a 200 or a shed answer, e.g. %s", u.Errors+o.Errors, cmpOr(u.FirstError, o.FirstError))
	}
	if u.Shed > 0 {
		fail("%d requests shed at the unloaded rate", u.Shed)
	}
	if u.Admitted == 0 || o.Admitted == 0 {
		fail("no admitted requests to compare (unloaded %d, overload %d)", u.Admitted, o.Admitted)
		return
	}
	if o.Shed == 0 {
		fail("nothing was shed at %.0f req/s: the run did not overload the server", o.Rate)
	}
	if ratio := r.Ratio(); ratio > 2 {
		fail("admitted p99 under overload %s is %.2f× the unloaded p99 %s (want ≤ 2×)", round(o.AdmittedP99), ratio, round(u.AdmittedP99))
	}
	if o.Shed > 0 && o.ShedP99 > 2*u.AdmittedP99 {
		fail("shed answers' p99 %s is over 2× the unloaded p99 %s: refusals are not quick", round(o.ShedP99), round(u.AdmittedP99))
	}
	if o.NotSent > 0 {
		fail("the generator could not send %d of its arrivals (more than %d open)", o.NotSent, r.Options.MaxOutstanding)
	}
}

// OK reports whether the acceptance held.
func (r *OverloadReport) OK() bool { return len(r.Failures) == 0 }

// Markdown renders the report; setup describes the server's admission settings.
func (r *OverloadReport) Markdown(command, machine, setup string) string {
	var b strings.Builder
	verdict := "**PASS**"
	if !r.OK() {
		verdict = "**FAIL**"
	}
	fmt.Fprintf(&b, "## Overload: %s at %.0f× the sustainable rate (%s) — %s\n\n", r.Options.Path, r.Options.Factor, time.Now().UTC().Format("2006-01-02"), verdict)
	fmt.Fprintf(&b, "- Command: `%s`\n- Machine: %s; 1-minute load average %s before, %s after\n- Server: %s\n", command, machine, r.LoadBefore, r.LoadAfter, setup)
	fmt.Fprintf(&b, "- %d triage texts in rotation; %s per phase; the client keeps at most %d connections; open-loop latencies count from each request's scheduled start.\n\n", len(r.Options.Bodies), r.Options.Duration, r.Options.Conns)
	fmt.Fprintf(&b, "| phase | rate (req/s) | sent | 200 | shed 429/503 | other | 200 p50 | 200 p99 | shed p50 | shed p99 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	s := r.Sustainable
	fmt.Fprintf(&b, "| sustainable: %s | %.0f | %d | %d | %d | %d | %s | %s | – | – |\n", s.Name, s.Throughput, s.Requests+s.Errors, s.Requests, r.ClosedShed, s.Errors-r.ClosedShed, round(s.P50), round(s.P99))
	for _, o := range []OpenRun{r.Unloaded, r.Overload} {
		fmt.Fprintf(&b, "| %s | %.0f (sent %.0f) | %d | %d | %d | %d | %s | %s | %s | %s |\n", o.Name, o.Rate, o.Achieved, o.Sent, o.Admitted, o.Shed, o.Errors, round(o.AdmittedP50), round(o.AdmittedP99), round(o.ShedP50), round(o.ShedP99))
	}
	fmt.Fprintf(&b, "\n| acceptance | value |\n|---|---:|\n")
	fmt.Fprintf(&b, "| admitted p99 under overload ÷ unloaded p99 (want ≤ 2) | **%.2f×** |\n", r.Ratio())
	fmt.Fprintf(&b, "| shed fraction at %.0f× | %.1f%% |\n", r.Options.Factor, 100*r.Overload.ShedFraction())
	fmt.Fprintf(&b, "| p99 of the 429/503 answers | %s |\n", round(r.Overload.ShedP99))
	if r.Options.ServerCPU != nil {
		// The server process's CPU (all its threads, GC included) over each
		// open-loop phase, per request sent in it.
		fmt.Fprintf(&b, "| server CPU per request sent: unloaded / overload | %s / %s |\n", roundCPU(r.Unloaded.CPUPerRequest()), roundCPU(r.Overload.CPUPerRequest()))
	}
	if len(r.Failures) > 0 {
		b.WriteString("\nFailed checks:\n\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	return b.String()
}

// roundCPU shows a per-request CPU time in µs.
func roundCPU(d time.Duration) string {
	if d <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

// ProcessCPU reads the user + system CPU time of process pid from
// /proc/pid/stat (Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start after its ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime: fields 14 and 15 of stat
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// rawClient is the generator's HTTP/1.1 client: a fixed pool of keep-alive
// connections, each request written from bytes encoded once and its answer
// read with http.ReadResponse. net/http's Transport costs the generator
// about twice the CPU per request (two goroutines per connection, a
// channel hand-off per request), and on a small machine the generator's CPU
// is what limits the overload it can offer.
type rawClient struct {
	addr    string
	reqs    [][]byte
	next    atomic.Uint64
	conns   chan *rawConn // nil entries: not dialed yet
	timeout time.Duration
}

type rawConn struct {
	net.Conn
	br     *bufio.Reader
	reused bool
}

func newRawClient(base, path string, bodies [][]byte, h http.Header, conns int, timeout time.Duration) (*rawClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	c := &rawClient{addr: u.Host, conns: make(chan *rawConn, conns), timeout: timeout}
	for _, body := range bodies {
		var b bytes.Buffer
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", path, u.Host, len(body))
		h.Write(&b)
		b.WriteString("\r\n")
		b.Write(body)
		c.reqs = append(c.reqs, b.Bytes())
	}
	for range conns {
		c.conns <- nil
	}
	return c, nil
}

// post sends the next body; a request waiting for a free connection is late.
func (c *rawClient) post(ctx context.Context) (int, bool, error) {
	var conn *rawConn
	select {
	case conn = <-c.conns:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
	req := c.reqs[c.next.Add(1)%uint64(len(c.reqs))]
	for {
		status, retryAfter, keep, err := c.roundTrip(&conn, req)
		if err != nil && conn != nil && conn.reused {
			// The server may close an idle connection: retry once on a new one.
			conn.Close()
			conn = nil
			continue
		}
		if err != nil || !keep {
			if conn != nil {
				conn.Close()
			}
			conn = nil
		}
		c.conns <- conn
		return status, retryAfter, err
	}
}

func (c *rawClient) roundTrip(conn **rawConn, req []byte) (status int, retryAfter, keep bool, err error) {
	if *conn == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, false, false, err
		}
		*conn = &rawConn{Conn: nc, br: bufio.NewReaderSize(nc, 16<<10)}
	} else {
		(*conn).reused = true
	}
	cn := *conn
	cn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := cn.Write(req); err != nil {
		return 0, false, false, err
	}
	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return 0, false, false, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, false, err
	}
	cn.reused = false
	if resp.StatusCode == 200 && !json.Valid(raw) {
		return 0, false, false, fmt.Errorf("200 with a body that is not JSON")
	}
	return resp.StatusCode, resp.Header.Get("Retry-After") != "", !resp.Close, nil
}

func (c *rawClient) close() {
	for range cap(c.conns) {
		if conn := <-c.conns; conn != nil {
			conn.Close()
		}
	}
}
