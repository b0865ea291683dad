package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	fs := newFlagSet("eval imaging", "Run an imaging model over a split of its data set through the server's own preprocessing and\nONNX Runtime repository; print accuracy, AUC, balanced accuracy and per-class recall, and\ncompare them with the training script's models/<model>/<version>/metrics.json.",
		"  fenzhen eval imaging --model chest-xray\n  fenzhen eval imaging --model dermatology --data /data/fenzhen --batch 128\n  FENZHEN_ORT_LIB=/opt/ort/lib/libonnxruntime.so fenzhen eval imaging --model chest-xray --split val --json")
	model := fs.String("model", imaging.ModelChestXray, "model to evaluate: chest-xray or dermatology")
	data := fs.String("data", defaultDataDir(), "shared data folder (env FENZHEN_DATA)")
	npzPath := fs.String("npz", "", "data set file (default: the model's .npz under --data)")
	models := fs.String("models", "models", "model repository folder")
	ortLib := fs.String("ort-lib", "", "ONNX Runtime shared library (default: env FENZHEN_ORT_LIB, then the bundled one)")
	split := fs.String("split", "test", "split to evaluate: train, val or test")
	batch := fs.Int("batch", 64, "images per inference call (capped by the model's max_batch_size)")
	tol := fs.Float64("tolerance", 1e-3, "largest allowed difference from metrics.json before the command fails")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	if err := inference.InitRuntime(*ortLib); err != nil {
		return err
	}
	repo, err := inference.OpenRepository(*models, inference.RepositoryOptions{})
	if err != nil {
		return err
	}
	defer repo.Close()
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
	}
	return compareReference(os.Stderr, res, ref, refPath, *tol)
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
	fmt.Fprintf(w, "model %s version %s on %s split of %s (%d images)\n", r.Model, r.Version, split, path, r.N)
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
}

// reference holds the training script's figures for one split.
type reference struct {
	Acc         *float64           `json:"acc"`
	AUC         *float64           `json:"-"`
	MacroAUC    *float64           `json:"macro_auc"`
	BalancedAcc *float64           `json:"balanced_acc"`
	Recall      map[string]float64 `json:"recall"`
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
func compareReference(w io.Writer, r *imaging.EvalResult, ref *reference, path string, tol float64) error {
	if ref == nil {
		fmt.Fprintf(w, "no reference figures in %s to compare with\n", path)
		return nil
	}
	type pair struct {
		name      string
		got, want float64
	}
	var pairs []pair
	add := func(name string, got float64, want *float64) {
		if want != nil {
			pairs = append(pairs, pair{name, got, *want})
		}
	}
	add("acc", r.Accuracy, ref.Acc)
	if ref.MacroAUC != nil {
		add("macro_auc", r.AUC, ref.MacroAUC)
	} else if ref.AUC != nil {
		add("auc", r.AUC, ref.AUC)
	}
	add("balanced_acc", r.BalancedAccuracy, ref.BalancedAcc)
	for i, l := range r.Labels {
		if v, ok := ref.Recall[l]; ok {
			add("recall."+l, r.Recall[i], &v)
		}
	}
	bad := 0
	for _, p := range pairs {
		status := "ok"
		if math.Abs(p.got-p.want) > tol {
			status = "MISMATCH"
			bad++
		}
		fmt.Fprintf(w, "  %-18s go %.4f  python %.4f  %s\n", p.name, p.got, p.want, status)
	}
	if bad > 0 {
		return fmt.Errorf("%d figures differ from %s by more than %g", bad, path, tol)
	}
	fmt.Fprintf(w, "matches %s (tolerance %g)\n", path, tol)
	return nil
}
