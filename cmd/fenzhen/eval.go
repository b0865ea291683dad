package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/fenzhen/fenzhen/imaging"
	"github.com/fenzhen/fenzhen/imaging/npy"
	"github.com/fenzhen/fenzhen/inference"
)

// evalTargets are the `fenzhen eval <target>` subcommands. Add one with a
// single line in an init of its own file: evalTargets["triage"] = evalTriage.
var evalTargets = map[string]func(args []string) error{}

func init() {
	register(command{name: "eval", summary: "evaluate models on the held-out test splits (eval imaging|…)", run: runEval})
	evalTargets["imaging"] = evalImaging
}

func runEval(args []string) error {
	names := make([]string, 0, len(evalTargets))
	for n := range evalTargets {
		names = append(names, n)
	}
	sort.Strings(names)
	help := fmt.Sprintf("Usage: fenzhen eval <target> [flags]\n\nTargets: %s\nRun 'fenzhen eval <target> --help' for its flags.\n", strings.Join(names, ", "))
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, help)
		return errors.New("missing target")
	}
	if isHelp(args[0]) {
		return printHelp(os.Stdout, help)
	}
	run, ok := evalTargets[args[0]]
	if !ok {
		return subcommandErr("eval", args[0], names...)
	}
	return run(args[1:])
}

// defaultDataDir is $FENZHEN_DATA, else ../shared/data.
func defaultDataDir() string {
	if d := os.Getenv("FENZHEN_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "shared", "data")
}

// imagingSets: the .npz holding each imaging model's data, under the data folder.
var imagingSets = map[string]string{
	imaging.ModelChestXray:   filepath.Join("medmnist", "pneumoniamnist.npz"),
	imaging.ModelDermatology: filepath.Join("derm", "dermamnist_like.npz"),
}

func evalImaging(args []string) error {
	fs := newFlagSet("eval imaging", "Run an imaging model over a split of its data set and print accuracy, AUC, balanced accuracy,\n"+
		"per-class recall and the confusion matrix at each operating point, compared with the training\n"+
		"script's models/<model>/<version>/metrics.json.\n\n"+
		"--via http (the default) posts every image as a PNG to the model's route of a server started\n"+
		"in-process (or of --url), so decoding, the input gate, preprocessing, batching, ORT and the\n"+
		"decision are all the server's; it also reports the input gate's rates: valid images refused or\n"+
		"flagged, and the other imaging model's images of the same split and synthetic junk (blank,\n"+
		"noise, text pages) let through. --via direct batches the arrays through the Go preprocessing\n"+
		"and the ONNX Runtime repository (no gate rules, exact probabilities).",
		"  fenzhen eval imaging --model chest-xray\n  fenzhen eval imaging --model dermatology --data /data/fenzhen\n"+
			"  fenzhen eval imaging --model dermatology --via direct --batch 128 --json\n  fenzhen eval imaging --model chest-xray --url http://localhost:8080")
	model := fs.String("model", imaging.ModelChestXray, "model to evaluate: chest-xray or dermatology")
	data := fs.String("data", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	npzPath := fs.String("npz", "", "data set file (default: the model's .npz under --data)")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	split := fs.String("split", "test", "split to evaluate: train, val or test")
	via := fs.String("via", "http", "http: post PNGs to the server (in-process unless --url); direct: batch through the repository")
	url := fs.String("url", "", "with --via http: a running server's base URL instead of an in-process one")
	junkN := fs.Int("junk", 40, "with --via http: synthetic junk images of each kind (blank, noise, text)")
	conc := fs.Int("concurrency", 8, "with --via http: requests in flight")
	limit := fs.Int("limit", 0, "evaluate only the first N images of each set (a quick smoke run; the figures then differ from metrics.json)")
	batch := fs.Int("batch", 64, "with --via direct: images per inference call (capped by the model's max_batch_size)")
	tol := fs.Float64("tolerance", 1e-3, "largest allowed difference from metrics.json before the command fails (AUCs through HTTP: twice this, as the answer rounds probabilities to 4 decimals)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *via != "http" && *via != "direct" {
		return fmt.Errorf("--via %q: want http or direct", *via)
	}
	if *npzPath == "" {
		rel, ok := imagingSets[*model]
		if !ok {
			return fmt.Errorf("--model %q: want chest-xray or dermatology, or give --npz", *model)
		}
		*npzPath = filepath.Join(*data, rel)
	}
	ds, err := loadNPZSplit(*npzPath, *split)
	if err != nil {
		return err
	}
	ds = truncate(ds, *limit)
	if err := inference.InitRuntime(*ortLib); err != nil {
		return err
	}
	repo, err := inference.OpenRepository(*models, inference.RepositoryOptions{})
	if err != nil {
		return err
	}
	defer repo.Close()
	if *via == "http" {
		return evalImagingHTTP(repo, *model, ds, *split, *npzPath, *data, *url, *junkN, *conc, *limit, *models, *tol, *asJSON)
	}
	p := newProgress("eval imaging "+*model, int64(ds.N), "images")
	res, err := imaging.Evaluate(context.Background(), progressRunner{repo, p}, *model, ds, *batch)
	p.Done()
	if err != nil {
		return err
	}
	ref, refPath := loadReference(filepath.Join(*models, *model, res.Version, "metrics.json"), *split)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printEval(os.Stdout, res, *split, *npzPath)
		if res.OODFlagged > 0 || res.OODRefused > 0 {
			fmt.Printf("  ood output over the gate's thresholds: flagged %.2f%%, refused %.2f%%\n", 100*res.OODFlagged, 100*res.OODRefused)
		}
	}
	return compareReference(os.Stderr, res, ref, refPath, *tol, *tol)
}

// imagingHTTPResult is the --json output of eval imaging --via http.
type imagingHTTPResult struct {
	Model  string
	Split  string
	Points []*imaging.EvalResult // one per operating point, the default first
	Gate   []gateRates
}

func evalImagingHTTP(repo *inference.Repository, model string, ds *imaging.Dataset, split, npzPath, dataDir, url string, junkN, conc, limit int, modelsDir string, tol float64, asJSON bool) error {
	out, version, err := runImagingHTTP(repo, model, ds, split, dataDir, url, junkN, conc, limit)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printEval(os.Stdout, out.Points[0], split+" via HTTP (PNG)", npzPath)
		fmt.Println("input gate (refused = 422, flagged = 200 with quality.ok false):")
		for _, g := range out.Gate {
			fmt.Println("  " + g.String())
		}
	}
	ref, refPath := loadReference(filepath.Join(modelsDir, model, version, "metrics.json"), split)
	err = compareReference(os.Stderr, out.Points[0], ref, refPath, tol, 2*tol)
	if err != nil && out.Gate[0].Refused > 0 {
		// metrics.json counts every image; refused ones have no answer here.
		fmt.Fprintf(os.Stderr, "eval imaging: %d valid images were refused, so differences from metrics.json are expected (%v)\n", out.Gate[0].Refused, err)
		return nil
	}
	return err
}

// runImagingHTTP posts ds (at every operating point), the other model's
// images of the same split and junkN junk images of each kind to the
// model's route, and returns the figures and the gate's rates.
func runImagingHTTP(repo *inference.Repository, model string, ds *imaging.Dataset, split, dataDir, url string, junkN, conc, limit int) (*imagingHTTPResult, string, error) {
	ctx := context.Background()
	version, cfg, err := repo.Config(model, "")
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %v", imaging.ErrNoModel, model, err)
	}
	route, ok := imagingRoutes[model]
	if !ok {
		return nil, "", fmt.Errorf("--via http: no route for model %q", model)
	}
	if url == "" {
		var stop func()
		url, stop = startLocalServer(repo)
		defer stop()
	}
	e := &httpEval{base: strings.TrimRight(url, "/"), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}, concurrency: max(1, conc)}
	own := func(d *imaging.Dataset) func(int) ([]byte, error) {
		return func(i int) ([]byte, error) {
			return encodePNG(d.Pix[i*imgBytesOf(d):(i+1)*imgBytesOf(d)], d.Width, d.Height, d.Channels)
		}
	}
	points := []string{""}
	if ops := cfg.OperatingPoints; ops != nil {
		points = []string{ops.Default}
		var rest []string
		for n := range ops.Points {
			if n != ops.Default {
				rest = append(rest, n)
			}
		}
		sort.Strings(rest)
		points = append(points, rest...)
	}
	total := int64(ds.N * len(points))
	var other *imaging.Dataset
	otherModel := ""
	for m, rel := range imagingSets {
		if m != model {
			otherModel = m
			if other, err = loadNPZSplit(filepath.Join(dataDir, rel), split); err != nil {
				fmt.Fprintf(os.Stderr, "eval imaging: no other-modality set (%v); its gate rate is not measured\n", err)
				other = nil
			}
			other = truncate(other, limit)
		}
	}
	if other != nil {
		total += int64(other.N)
	}
	junk := imaging.Junk(20261204, junkN)
	total += int64(len(junk))
	p := newProgress("eval imaging "+model+" via http", total, "images")
	out := &imagingHTTPResult{Model: model, Split: split}
	var firstAnswers []httpAnswer
	for _, name := range points {
		path := route
		if name != "" {
			path += "?operating_point=" + name
		}
		as, err := e.postAll(ctx, path, ds.N, cfg.Labels, own(ds), func() { p.Add(1) })
		if err != nil {
			p.Done()
			return nil, "", err
		}
		if firstAnswers == nil {
			firstAnswers = as
		}
		res, refused := httpMetrics(cfg.Labels, ds.Labels, as)
		if res == nil {
			p.Done()
			return nil, "", fmt.Errorf("every %s image was refused", split)
		}
		res.Model, res.Version, res.OperatingPoint = model, version, name
		if refused > 0 {
			fmt.Fprintf(os.Stderr, "eval imaging: %d of %d %s images refused at %q; the figures are over the %d answered\n", refused, ds.N, split, name, res.N)
		}
		out.Points = append(out.Points, res)
	}
	out.Gate = append(out.Gate, tally(fmt.Sprintf("valid: %s %s", model, split), firstAnswers))
	if other != nil {
		as, err := e.postAll(ctx, route, other.N, cfg.Labels, own(other), func() { p.Add(1) })
		if err != nil {
			p.Done()
			return nil, "", err
		}
		out.Gate = append(out.Gate, tally(fmt.Sprintf("other modality: %s %s", otherModel, split), as))
	}
	for _, kind := range []string{"blank", "noise", "text"} {
		var set []imaging.JunkImage
		for _, j := range junk {
			if j.Kind == kind {
				set = append(set, j)
			}
		}
		as, err := e.postAll(ctx, route, len(set), cfg.Labels, func(i int) ([]byte, error) {
			im := set[i].Img
			return encodePNG(im.Pix, im.Width, im.Height, im.Channels)
		}, func() { p.Add(1) })
		if err != nil {
			p.Done()
			return nil, "", err
		}
		out.Gate = append(out.Gate, tally("junk: "+kind, as))
	}
	p.Done()
	if len(points) > 1 || points[0] != "" {
		for i, r := range out.Points {
			pt := imaging.PointResult{Name: points[i], Accuracy: r.Accuracy, BalancedAccuracy: r.BalancedAccuracy, Recall: r.Recall, Confusion: r.Confusion}
			if op, ok := cfg.OperatingPoints.Points[points[i]]; ok {
				pt.Threshold = op.Threshold
			}
			if len(r.Labels) == 2 {
				pt.Sensitivity, pt.Specificity = r.Recall[1], r.Recall[0]
			}
			out.Points[0].Points = append(out.Points[0].Points, pt)
		}
	}
	return out, version, nil
}

func imgBytesOf(d *imaging.Dataset) int { return d.Height * d.Width * d.Channels }

// truncate keeps the first n images of d (all when n ≤ 0).
func truncate(d *imaging.Dataset, n int) *imaging.Dataset {
	if d == nil || n <= 0 || n >= d.N {
		return d
	}
	c := *d
	c.N, c.Labels, c.Pix = n, d.Labels[:n], d.Pix[:n*imgBytesOf(d)]
	return &c
}

// loadNPZSplit reads <split>_images and <split>_labels.
func loadNPZSplit(path, split string) (*imaging.Dataset, error) {
	arrs, err := npy.ReadNPZ(path, split+"_images", split+"_labels")
	if err != nil {
		return nil, err
	}
	img, lab := arrs[split+"_images"], arrs[split+"_labels"]
	if img.Descr != "|u1" && img.Descr != "u1" {
		return nil, fmt.Errorf("%s: %s_images is %s, want uint8", path, split, img.Descr)
	}
	ds := &imaging.Dataset{Pix: img.Data}
	switch len(img.Shape) {
	case 3:
		ds.N, ds.Height, ds.Width, ds.Channels = img.Shape[0], img.Shape[1], img.Shape[2], 1
	case 4:
		ds.N, ds.Height, ds.Width, ds.Channels = img.Shape[0], img.Shape[1], img.Shape[2], img.Shape[3]
	default:
		return nil, fmt.Errorf("%s: %s_images has shape %v, want N×H×W or N×H×W×C", path, split, img.Shape)
	}
	if ds.Channels != 1 && ds.Channels != 3 {
		return nil, fmt.Errorf("%s: %d channels", path, ds.Channels)
	}
	if ds.Labels, err = lab.Ints(); err != nil {
		return nil, fmt.Errorf("%s: %s_labels: %w", path, split, err)
	}
	if len(ds.Labels) != ds.N {
		return nil, fmt.Errorf("%s: %d labels for %d images", path, len(ds.Labels), ds.N)
	}
	return ds, nil
}

func printEval(w io.Writer, r *imaging.EvalResult, split, path string) {
	auc := "AUC (macro one-vs-rest)"
	if len(r.Labels) == 2 {
		auc = "AUC (" + r.Labels[1] + " vs " + r.Labels[0] + ")"
	}
	fmt.Fprintf(w, "model %s version %s on %s split of %s (%d images)", r.Model, r.Version, split, path, r.N)
	if r.OperatingPoint != "" {
		fmt.Fprintf(w, ", decisions at operating point %q", r.OperatingPoint)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-26s %.4f\n  %-26s %.4f\n  %-26s %.4f\n", "ACC", r.Accuracy, auc, r.AUC, "balanced accuracy", r.BalancedAccuracy)
	fmt.Fprintln(w, "  per class:          recall   AUC      n")
	for i, l := range r.Labels {
		n := 0
		for _, v := range r.Confusion[i] {
			n += v
		}
		fmt.Fprintf(w, "    %-16s  %.4f   %.4f  %d\n", l, r.Recall[i], r.ClassAUC[i], n)
	}
	fmt.Fprintf(w, "  confusion (true × predicted): %v\n", r.Confusion)
	for _, pt := range r.Points {
		if pt.Name == r.OperatingPoint {
			continue
		}
		fmt.Fprintf(w, "  at operating point %q: ACC %.4f, balanced %.4f", pt.Name, pt.Accuracy, pt.BalancedAccuracy)
		if len(r.Labels) == 2 {
			fmt.Fprintf(w, ", sensitivity %.4f, specificity %.4f", pt.Sensitivity, pt.Specificity)
		}
		fmt.Fprintf(w, ", confusion %v\n", pt.Confusion)
	}
}

// reference holds the training script's figures for one split.
type reference struct {
	Acc         *float64           `json:"acc"`
	AUC         *float64           `json:"-"`
	MacroAUC    *float64           `json:"macro_auc"`
	BalancedAcc *float64           `json:"balanced_acc"`
	Recall      map[string]float64 `json:"recall"`
	// OperatingPoints: the chest model's figures at each operating point.
	OperatingPoints map[string]struct {
		Acc         *float64 `json:"acc"`
		Sensitivity *float64 `json:"sensitivity"`
		Specificity *float64 `json:"specificity"`
	} `json:"operating_points"`
}

func loadReference(path, split string) (*reference, string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, path
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil || all[split] == nil {
		return nil, path
	}
	// "auc" is a number for binary models and a per-class map for
	// multi-class ones (whose headline figure is macro_auc).
	var ref reference
	var wire struct {
		reference
		AUC json.RawMessage `json:"auc"`
	}
	if json.Unmarshal(all[split], &wire) != nil {
		return nil, path
	}
	ref = wire.reference
	var auc float64
	if json.Unmarshal(wire.AUC, &auc) == nil {
		ref.AUC = &auc
	}
	return &ref, path
}

// compareReference prints the differences from metrics.json and fails when
// one exceeds tol.
func compareReference(w io.Writer, r *imaging.EvalResult, ref *reference, path string, tol, aucTol float64) error {
	if ref == nil {
		fmt.Fprintf(w, "no reference figures in %s to compare with\n", path)
		return nil
	}
	type pair struct {
		name      string
		got, want float64
		tol       float64
	}
	var pairs []pair
	add := func(name string, got float64, want *float64) {
		if want != nil {
			pairs = append(pairs, pair{name, got, *want, tol})
		}
	}
	add("acc", r.Accuracy, ref.Acc)
	if ref.MacroAUC != nil {
		add("macro_auc", r.AUC, ref.MacroAUC)
	} else if ref.AUC != nil {
		add("auc", r.AUC, ref.AUC)
	}
	if len(pairs) > 1 {
		pairs[len(pairs)-1].tol = aucTol
	}
	add("balanced_acc", r.BalancedAccuracy, ref.BalancedAcc)
	for i, l := range r.Labels {
		if v, ok := ref.Recall[l]; ok {
			add("recall."+l, r.Recall[i], &v)
		}
	}
	for _, pt := range r.Points {
		if want, ok := ref.OperatingPoints[pt.Name]; ok {
			add(pt.Name+".acc", pt.Accuracy, want.Acc)
			if len(r.Labels) == 2 {
				add(pt.Name+".sensitivity", pt.Sensitivity, want.Sensitivity)
				add(pt.Name+".specificity", pt.Specificity, want.Specificity)
			}
		}
	}
	bad := 0
	for _, p := range pairs {
		status := "ok"
		if math.Abs(p.got-p.want) > p.tol {
			status = "MISMATCH"
			bad++
		}
		fmt.Fprintf(w, "  %-18s go %.4f  python %.4f  %s\n", p.name, p.got, p.want, status)
	}
	if bad > 0 {
		return fmt.Errorf("%d figures differ from %s by more than the tolerance (%g; AUC %g)", bad, path, tol, aucTol)
	}
	fmt.Fprintf(w, "matches %s (tolerance %g)\n", path, tol)
	return nil
}
