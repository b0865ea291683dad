package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/fenzhen/fenzhen/api"
	"github.com/fenzhen/fenzhen/audit"
	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/inference"
	"github.com/fenzhen/fenzhen/knowledge"
	"github.com/fenzhen/fenzhen/nlp/segment"
	"github.com/fenzhen/fenzhen/triage"
)

// external are series that Prometheus itself makes, not the server.
var external = map[string]bool{"up": true}

// exported is what a real fenzhen server exposes on /metrics: the series
// names (histograms as _bucket, _sum and _count) and the label values seen.
type exported struct {
	series map[string]bool
	labels map[string]map[string]bool // label → values
}

var (
	scrapeOnce sync.Once
	scraped    exported
	scrapeErr  error
	probeCodes map[string]int
)

// scrapeServer builds the server the way `fenzhen serve` does (runtime,
// committed models, Go and process collectors, the audit log), sends one
// request of each kind so the labelled series exist, and reads /metrics.
func scrapeServer(t *testing.T) exported {
	t.Helper()
	scrapeOnce.Do(func() { scraped, scrapeErr = scrape(t, probePaths(t)) })
	if scrapeErr != nil {
		t.Fatal(scrapeErr)
	}
	return scraped
}

func scrape(t *testing.T, probes []string) (exported, error) {
	if err := inference.InitRuntime(""); err != nil {
		return exported{}, fmt.Errorf("the metrics check needs ONNX Runtime (run `make setup`): %w", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	repo, err := inference.OpenRepository(filepath.Join("..", "models"), inference.RepositoryOptions{Metrics: inference.NewMetrics(reg), Logger: log})
	if err != nil {
		return exported{}, err
	}
	dir, err := os.MkdirTemp("", "fenzhen-deploy-test-")
	if err != nil {
		return exported{}, err
	}
	defer os.RemoveAll(dir)
	st, err := audit.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		return exported{}, err
	}
	aw := audit.NewWriter(st, audit.WriterOptions{Registerer: reg, Logger: log})
	defer func() { aw.Close(); st.Close(); repo.Close() }()
	kg, err := knowledge.LoadDefault()
	if err != nil {
		return exported{}, err
	}
	seg, err := segment.New(kg.Terms())
	if err != nil {
		return exported{}, err
	}
	idx, err := knowledge.NewIndexWith(kg, seg)
	if err != nil {
		return exported{}, err
	}
	defer idx.Close()
	x, err := triage.NewExtractor(kg, idx)
	if err != nil {
		return exported{}, err
	}
	eng, err := triage.New(kg, x, repo, triage.Options{})
	if err != nil {
		return exported{}, err
	}
	srv := api.New(api.DefaultConfig(), api.Deps{Models: repo, Imaging: imaging.NewService(repo), KG: kg, Index: idx, Triage: eng, Audit: aw, Registry: reg}, log)

	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	probeCodes = map[string]int{}
	for _, p := range append(probes, "/healthz", "/readyz") {
		probeCodes[p] = do(http.MethodGet, p, nil).Code
	}
	raw, err := os.ReadFile(filepath.Join("..", "models", "cnn-test", "testdata", "reference.json"))
	if err != nil {
		return exported{}, err
	}
	var ref struct {
		Shape []int64   `json:"shape"`
		Input []float32 `json:"input"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return exported{}, err
	}
	body, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "input", "datatype": "FP32", "shape": ref.Shape, "data": ref.Input}}})
	if rec := do(http.MethodPost, "/v2/models/cnn-test/infer", body); rec.Code != http.StatusOK {
		return exported{}, fmt.Errorf("v2 infer: %d %s", rec.Code, rec.Body)
	}
	do(http.MethodGet, "/v2/models/no-such-model", nil)
	rec := do(http.MethodGet, "/metrics", nil)
	if rec.Code != http.StatusOK {
		return exported{}, fmt.Errorf("/metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		return exported{}, err
	}
	ex := exported{series: map[string]bool{}, labels: map[string]map[string]bool{}}
	for name, f := range fams {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			ex.series[name+"_bucket"], ex.series[name+"_sum"], ex.series[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			ex.series[name], ex.series[name+"_sum"], ex.series[name+"_count"] = true, true, true
		default:
			ex.series[name] = true
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if ex.labels[l.GetName()] == nil {
					ex.labels[l.GetName()] = map[string]bool{}
				}
				ex.labels[l.GetName()][l.GetValue()] = true
			}
		}
	}
	return ex, nil
}

// metricNames lists the metric names an expression selects.
func metricNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			names = append(names, name)
		}
		return nil
	})
	return names
}

// checkExpr parses a PromQL expression and reports metric names the server
// does not export and route labels it never uses.
func checkExpr(ex exported, expr string) []string {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return []string{fmt.Sprintf("%q: %v", expr, err)}
	}
	var bad []string
	for _, n := range metricNames(e) {
		if !ex.series[n] && !external[n] {
			bad = append(bad, fmt.Sprintf("%q uses %s, which the server does not export", expr, n))
		}
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for _, m := range vs.LabelMatchers {
				if m.Name == "route" && m.Type.String() == "=" && !ex.labels["route"][m.Value] {
					bad = append(bad, fmt.Sprintf("%q selects route %q, which the server never reports", expr, m.Value))
				}
			}
		}
		return nil
	})
	return bad
}

func TestAlertRules(t *testing.T) {
	ex := scrapeServer(t)
	raw, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(raw, false, model.UTF8Validation)
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.FailNow()
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = true
			for _, p := range checkExpr(ex, r.Expr) {
				t.Errorf("%s: %s", r.Alert, p)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: needs a summary and a description", r.Alert)
			}
		}
	}
	for _, a := range []string{"FenzhenInstanceDown", "FenzhenNotReady", "FenzhenHighErrorRatio", "FenzhenLatencyP99OverSLO",
		"FenzhenQueueSaturated", "FenzhenHighShedRate", "FenzhenAuditWriteErrors"} {
		if !alerts[a] {
			t.Errorf("no %s alert", a)
		}
	}
}

// grafanaVar matches the dashboard's variables: $x, ${x}, ${x:format}, [[x]].
var grafanaVar = regexp.MustCompile(`\$\{([a-zA-Z_]\w*)(?::\w+)?\}|\$([a-zA-Z_]\w*)|\[\[(\w+)\]\]`)

// promQL turns a dashboard query into PromQL: interval variables become a
// duration, the others a regular expression that matches anything.
func promQL(q string) string {
	return grafanaVar.ReplaceAllStringFunc(q, func(m string) string {
		if strings.Contains(m, "interval") || strings.Contains(m, "__range") {
			return "5m"
		}
		return ".+"
	})
}

type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Datasource *datasource     `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// labelValuesQuery is Grafana's label_values(selector, label) variable query.
var labelValuesQuery = regexp.MustCompile(`^label_values\((.*),\s*(\w+)\)$`)

func TestGrafanaDashboard(t *testing.T) {
	ex := scrapeServer(t)
	raw, err := os.ReadFile("grafana/fenzhen-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 36 {
		t.Errorf("uid %q title %q schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
		}
		m := labelValuesQuery.FindStringSubmatch(q.Query)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
			continue
		}
		for _, p := range checkExpr(ex, promQL(m[1])) {
			t.Errorf("variable %s: %s", v.Name, p)
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s does not use the datasource variable", v.Name)
		}
	}
	if vars["datasource"] != "datasource" {
		t.Fatalf("no datasource variable: %v", vars)
	}

	var all []panel
	for _, p := range d.Panels {
		all = append(all, p)
		all = append(all, p.Panels...) // collapsed rows keep theirs inside
	}
	ids := map[int]bool{}
	exprs := 0
	var metrics []string
	for _, p := range all {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			exprs++
			q := promQL(tg.Expr)
			for _, prob := range checkExpr(ex, q) {
				t.Errorf("panel %q %s: %s", p.Title, tg.RefID, prob)
			}
			if e, err := parser.ParseExpr(q); err == nil {
				metrics = append(metrics, metricNames(e)...)
			}
		}
	}
	// Panels must not overlap on the 24-column grid.
	for i, a := range all {
		for _, b := range all[i+1:] {
			ga, gb := a.GridPos, b.GridPos
			if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
				t.Errorf("panels %q and %q overlap", a.Title, b.Title)
			}
		}
	}
	// What the issue asks the dashboard to show.
	for _, m := range []string{"fenzhen_http_requests_total", "fenzhen_http_request_duration_seconds_bucket", "fenzhen_http_in_flight_requests",
		"fenzhen_inference_batch_size_bucket", "fenzhen_inference_queue_depth", "fenzhen_inference_queue_wait_seconds_bucket",
		"fenzhen_inference_duration_seconds_bucket", "process_resident_memory_bytes", "process_cpu_seconds_total", "fenzhen_audit_queue_depth"} {
		if !slices.Contains(metrics, m) {
			t.Errorf("no panel shows %s", m)
		}
	}
	if exprs < 15 {
		t.Errorf("only %d queries", exprs)
	}
}

// TestMetricCheckCatchesMistakes shows the checks above can fail: a renamed
// metric, an unknown route and broken PromQL are all reported.
func TestMetricCheckCatchesMistakes(t *testing.T) {
	ex := scrapeServer(t)
	for expr, want := range map[string]string{
		`rate(fenzhen_http_request_total[5m])`:                                      "does not export",
		`histogram_quantile(0.99, rate(fenzhen_http_request_duration_seconds[5m]))`: "does not export",
		`fenzhen_http_requests_total{route="/v1/triagee"}`:                          "never reports",
		`sum by (route) (rate(fenzhen_http_requests_total[5m])`:                     "unclosed",
		`{__name__="fenzhen_batch_size_bucket"}`:                                    "does not export",
	} {
		bad := checkExpr(ex, expr)
		if !slices.ContainsFunc(bad, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: want a problem mentioning %q, got %q", expr, want, bad)
		}
	}
	if bad := checkExpr(ex, `sum(rate(fenzhen_http_requests_total{route="/readyz"}[5m]))`); len(bad) > 0 {
		t.Errorf("a correct expression was rejected: %q", bad)
	}
	// rulefmt itself rejects broken rule files: bad PromQL, a bad template,
	// an unknown field, a rule without expr.
	for name, rules := range map[string]string{
		"promql":   "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: rate(x[5m]\n",
		"template": "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    annotations:\n      summary: '{{ $labels.instance '\n",
		"field":    "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    fore: 5m\n",
		"no expr":  "groups:\n- name: g\n  rules:\n  - alert: A\n",
	} {
		if _, errs := rulefmt.Parse([]byte(rules), false, model.UTF8Validation); len(errs) == 0 {
			t.Errorf("%s: rulefmt accepted a broken rule file", name)
		}
	}
}

// TestProbePathsAreServed requests every path the manifests probe from a
// real server: a typo would leave pods never ready.
func TestProbePathsAreServed(t *testing.T) {
	scrapeServer(t)
	for _, p := range probePaths(t) {
		if c := probeCodes[p]; c != http.StatusOK {
			t.Errorf("probe path %s answered %d", p, c)
		}
	}
}
