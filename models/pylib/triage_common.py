"""Helpers the triage training scripts share (models/triage/train.py,
train_disease.py, train_urgency.py): the knowledge graph, the Go tools that
compute features exactly as the server does, the progress line, and writing
an export (model.onnx, config.yaml, metrics.json) and its golden rows.

Each script puts this folder on sys.path; keep these pure (no random numbers
drawn here) so that the scripts stay deterministic and reproduce their
committed models.
"""
import glob
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def data_dir():
    return os.environ.get("FENZHEN_DATA") or os.path.join(ROOT, "..", "shared", "data")


def seed_all(seed):
    """One thread and seeded torch and numpy: the scripts are deterministic."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)


def load_kg():
    kgdir = os.path.join(ROOT, "knowledge", "kg")
    syms = {s["id"]: s for s in yaml.safe_load(open(os.path.join(kgdir, "symptoms.yaml"), encoding="utf-8"))}
    diseases = []
    for f in sorted(glob.glob(os.path.join(kgdir, "diseases", "*.yaml"))):
        diseases += yaml.safe_load(open(f, encoding="utf-8")) or []
    return syms, diseases


class Progress:
    """Progress of a long step on stderr: a redrawn line with count, rate and
    ETA on a terminal, a plain line every 10 s otherwise. Prints nothing to
    stdout and draws no random numbers, so training output stays the same."""

    def __init__(self, label, total=0, unit=""):
        self.label, self.total, self.unit = label, total, unit
        self.done, self.start = 0, time.monotonic()
        self.tty = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.off = os.environ.get("FENZHEN_PROGRESS") == "off"
        self.last, self.width = 0.0, 0

    def add(self, n=1):
        self.done += n
        now = time.monotonic()
        if now - self.last >= (0.2 if self.tty else 10.0):
            self.last = now
            self._show(False)

    def finish(self):
        self._show(True)

    def _show(self, final):
        if self.off:
            return
        el = time.monotonic() - self.start
        line = f"{self.label}:"
        if self.done or self.total:
            line += f" {self.done}" + (f"/{self.total}" if self.total else "") + (f" {self.unit}" if self.unit else "")
            if self.total:
                line += f" ({100 * self.done / self.total:.1f}%)"
            line += ","
        if self.done and el > 0:
            line += f" {self.done / el:.1f}/s,"
        if final:
            line += f" done in {el:.1f}s"
        else:
            line += f" {el:.1f}s elapsed"
            if self.total and 0 < self.done < self.total:
                line += f", ETA {el * (self.total - self.done) / self.done:.1f}s"
        if self.tty:
            sys.stderr.write("\r" + line + " " * max(0, self.width - len(line)) + ("\n" if final else ""))
            self.width = len(line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def go_tool(tmp, pkg):
    """Builds the Go command ROOT/pkg into tmp and returns its path."""
    path = os.path.join(tmp, os.path.basename(pkg))
    subprocess.run(["go", "build", "-o", path, "./" + pkg], cwd=ROOT, check=True)
    return path


def featurize(rows, tool, label="featurize"):
    """Runs the Go featurizer (triage/cmd/featurize) over rows ({"text",
    "label", optional "age", "sex"}) and sets r["x"] (sorted feature indices,
    no padding) and r["code"] (official department code or "") on each.
    Returns the header: layout, vocab, width, symptoms, ngram_buckets."""
    prog = Progress(f"{label}: {len(rows)} texts")
    prog.add(0)

    def line(r):
        o = {"text": r["text"], "label": r.get("label", "")}
        if r.get("age") is not None:
            o["age"] = r["age"]
        if r.get("sex"):
            o["sex"] = r["sex"]
        return json.dumps(o, ensure_ascii=False) + "\n"
    inp = "".join(line(r) for r in rows)
    res = subprocess.run([tool], input=inp.encode("utf-8"), capture_output=True, check=True)
    lines = res.stdout.decode("utf-8").splitlines()
    head = json.loads(lines[0])
    if head.get("layout") != LAYOUT:
        raise SystemExit(f"featurizer layout {head.get('layout')!r}, this script trains {LAYOUT!r}")
    feats = [json.loads(l) for l in lines[1:]]
    assert len(feats) == len(rows)
    for r, f in zip(rows, feats):
        r["x"], r["code"] = f["x"], f["label"]
    prog.finish()
    return head


def padded(rows, width, pad):
    """The rows' index lists as an int64 matrix, padded with pad (the
    embedding's zero row), as the server sends them."""
    m = np.full((len(rows), width), pad, dtype=np.int64)
    for i, r in enumerate(rows):
        x = r["x"][:width]
        m[i, :len(x)] = x
    return m


class IndexBag(torch.nn.Module):
    """An embedding bag over the feature indices (a linear layer over the
    binary features, computed as a gather and a sum), a hidden layer and one
    or more heads. The padding row is all zeros. forward returns softmax
    probabilities of the first head (and sigmoid of a second, when asked)."""

    def __init__(self, vocab, hidden, heads, dropout=0.3, second_sigmoid=False):
        super().__init__()
        # Sparse gradients: a step touches only the rows of the batch's
        # features (SparseAdam), which keeps CPU training fast.
        self.emb = torch.nn.Embedding(vocab + 1, hidden, padding_idx=vocab, sparse=True)
        # Initialised as a linear layer over the binary features would be
        # (Embedding's default N(0, 1) sums a hundred features into huge
        # activations and trains badly).
        bound = 1 / math.sqrt(256)
        with torch.no_grad():
            self.emb.weight.uniform_(-bound, bound)
            self.emb.weight[vocab].zero_()
        self.bias = torch.nn.Parameter(torch.zeros(hidden))
        self.drop = torch.nn.Dropout(dropout)
        self.heads = torch.nn.ModuleList(torch.nn.Linear(hidden, k) for k in heads)
        self.second_sigmoid = second_sigmoid
        self.feature_dropout = 0.0

    def hidden(self, x):
        if self.training and self.feature_dropout > 0:
            # Drop whole features (to the padding row) so that no single
            # n-gram carries a prediction: the benchmarks are small.
            keep = torch.rand(x.shape) >= self.feature_dropout
            x = torch.where(keep, x, torch.full_like(x, self.emb.padding_idx))
        return self.drop(torch.relu(self.emb(x).float().sum(1) + self.bias))

    def logits(self, x):
        h = self.hidden(x)
        return [head(h) for head in self.heads]

    def optimizers(self, lr):
        """SparseAdam for the embedding, Adam for the rest."""
        dense = [p for n, p in self.named_parameters() if not n.startswith("emb.")]
        return [torch.optim.SparseAdam(list(self.emb.parameters()), lr=lr), torch.optim.Adam(dense, lr=lr)]

    def forward(self, x):
        out = self.logits(x)
        probs = torch.softmax(out[0], dim=1)
        if len(out) == 1:
            return probs
        return probs, (torch.sigmoid(out[1]) if self.second_sigmoid else torch.softmax(out[1], dim=1))


# The feature layout the Go featurizer computes (triage.FeatureLayout).
LAYOUT = "triage-v2"


def save_model(model, out, head, outputs, name, comment, labels, metrics, queue_delay="250us"):
    """Writes out/model.onnx (input "features": INT64 [N, width] feature
    indices; outputs a list of (name, size)), out/config.yaml with the
    feature layout and vocabulary (head: the featurizer's header) the server
    reads, and out/metrics.json; returns the ONNX path. model(x) must return
    the outputs in order."""
    width, vocab = head["width"], head["vocab"]
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    # The embedding is stored in half precision (the file halves; a
    # feature's weight needs no more): gathered rows are cast to float32.
    # The model stays half from here on, so golden outputs written after
    # this call are what ONNX Runtime computes.
    if hasattr(model, "emb"):
        model.emb.weight.data = model.emb.weight.data.half()
    dynamic = {"features": {0: "N"}}
    dynamic.update({o: {0: "N"} for o, _ in outputs})
    model.eval()
    torch.onnx.export(model, torch.full((1, width), vocab, dtype=torch.int64), onnx_path, input_names=["features"],
                      output_names=[o for o, _ in outputs], dynamic_axes=dynamic, opset_version=13)
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        f.write(comment)
        f.write(f"name: {name}\nmax_batch_size: 64\ninputs:\n")
        f.write(f"  - {{name: features, datatype: INT64, shape: [{width}]}}\noutputs:\n")
        for o, n in outputs:
            f.write(f"  - {{name: {o}, datatype: FP32, shape: [{n}]}}\n")
        f.write(f"batching:\n  max_queue_delay: {queue_delay}\n  preferred_batch_sizes: [8, 16, 32, 64]\n"
                "  max_queue_size: 4096\n  default_timeout: 2s\ninstances: 1\nintra_op_threads: 1\n")
        f.write("labels: [" + ", ".join(f'"{c}"' for c in labels) + "]\n")
        f.write(f"parameters:\n  feature_layout: {LAYOUT}\n  vocab: \"{vocab}\"\n")
        # The vocabulary the features were computed with, in feature order:
        # the server maps the KG's ids through it, so the KG may grow.
        f.write("  symptoms: \"" + ",".join(head["symptoms"]) + "\"\n")
        f.write("  diseases: \"" + ",".join(head["diseases"]) + "\"\n")
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, ensure_ascii=False, indent=1, sort_keys=True)
    return onnx_path


# ------------------------------------------------------------ real corpora
def corpus_table():
    """(source, label, sub_label) → official code, "-" for no visit
    direction (eval/corpus/platform_labels.tsv, the one mapping table)."""
    t = {}
    with open(os.path.join(ROOT, "eval", "corpus", "platform_labels.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            src, label, sub, code = line.rstrip("\n").split("\t")[:4]
            t[(src, label, sub)] = code
    return t


def corpus(source):
    """The cases of a real set exactly as eval/corpus reads them: key, text,
    label, sub, age, split (the committed seeded split) and dept (mapped
    official code, "" when the label is not a visit direction)."""
    import csv
    base = os.path.join(data_dir(), "consultations")
    rows = []
    if source == "xfyun":
        with open(os.path.join(base, "xfyun_train.jsonl"), encoding="utf-8") as f:
            for i, line in enumerate(f):
                r = json.loads(line)
                rows.append({"key": f"xf:{i}", "text": r["text"], "label": r["label"], "sub": r["sub_label"], "age": r.get("age")})
    elif source == "internal_medicine":
        with open(os.path.join(base, "internal_medicine.csv"), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                rows.append({"key": f"im:{i}", "text": r["title"] + "。" + r["ask"], "label": r["department"], "sub": "", "age": None})
    else:
        with open(os.path.join(base, "cmtmedqa_dev.csv"), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                rows.append({"key": f"cm:{i}", "text": r["text"], "label": r["department"], "sub": r["sub_department"], "age": None})
    split = {}
    with open(os.path.join(ROOT, "eval", "corpus", "splits", source + ".tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            k, _, s = line.rstrip("\n").split("\t")
            split[k] = s
    t = corpus_table()
    for r in rows:
        r["split"] = split[r["key"]]
        c = t.get((source, r["label"], r["sub"])) or t.get((source, r["label"], "*")) or "-"
        r["dept"] = "" if c == "-" else c
        r["source"] = source
    return rows


def write_golden(name, rows, sort_keys=False):
    """Writes triage/testdata/<name>: one JSON object a line, what the Go
    tests compare the server's features and ONNX Runtime's outputs with."""
    with open(os.path.join(ROOT, "triage", "testdata", name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=sort_keys) + "\n")
