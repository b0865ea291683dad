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


def featurize(rows, tool):
    prog = Progress(f"featurize {len(rows)} texts")
    prog.add(0)
    inp = "".join(json.dumps({"text": r["text"], "label": r["label"]}, ensure_ascii=False) + "\n" for r in rows)
    res = subprocess.run([tool], input=inp.encode("utf-8"), capture_output=True, check=True)
    lines = res.stdout.decode("utf-8").splitlines()
    head = json.loads(lines[0])
    feats = [json.loads(l) for l in lines[1:]]
    assert len(feats) == len(rows)
    for r, f in zip(rows, feats):
        r["x"], r["code"] = f["x"], f["label"]
    prog.finish()
    return head["dim"]


def dense(rows, dim):
    m = np.zeros((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        m[i, r["x"]] = 1.0
    return m


def save_model(model, out, dim, outputs, name, comment, labels, metrics, queue_delay="250us"):
    """Writes out/model.onnx (input "features" of dim, outputs a list of
    (name, size)), out/config.yaml and out/metrics.json; returns the ONNX path."""
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    dynamic = {"features": {0: "N"}}
    dynamic.update({o: {0: "N"} for o, _ in outputs})
    torch.onnx.export(model, torch.zeros(1, dim), onnx_path, input_names=["features"],
                      output_names=[o for o, _ in outputs], dynamic_axes=dynamic, opset_version=13)
    with open(os.path.join(out, "config.yaml"), "w", encoding="utf-8") as f:
        f.write(comment)
        f.write(f"name: {name}\nmax_batch_size: 64\ninputs:\n")
        f.write(f"  - {{name: features, datatype: FP32, shape: [{dim}]}}\noutputs:\n")
        for o, n in outputs:
            f.write(f"  - {{name: {o}, datatype: FP32, shape: [{n}]}}\n")
        f.write(f"batching:\n  max_queue_delay: {queue_delay}\n  preferred_batch_sizes: [8, 16, 32, 64]\n"
                "  max_queue_size: 4096\n  default_timeout: 2s\ninstances: 1\nintra_op_threads: 1\n")
        f.write("labels: [" + ", ".join(f'"{c}"' for c in labels) + "]\n")
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, ensure_ascii=False, indent=1, sort_keys=True)
    return onnx_path


def write_golden(name, rows, sort_keys=False):
    """Writes triage/testdata/<name>: one JSON object a line, what the Go
    tests compare the server's features and ONNX Runtime's outputs with."""
    with open(os.path.join(ROOT, "triage", "testdata", name), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=sort_keys) + "\n")
