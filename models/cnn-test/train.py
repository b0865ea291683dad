#!/usr/bin/env python3
"""Trains and exports cnn-test, the small CNN that exercises the serving stack.

It learns a synthetic, seeded 10-class task (noisy 28x28 glyphs: bars, crosses,
boxes, rings at several positions), so it needs no data set and is fully
reproducible. Its shape (two convolutions and a 1568x512 dense layer) is chosen
so a batch-1 call is dominated by per-call overhead and weight loading: the
case where dynamic batching pays off most, as with real small classifiers.

Writes model.onnx and config.yaml into models/cnn-test/1/, MODEL_CARD.md, and
testdata/reference.json (inputs and the torch outputs) that the Go tests and
the acceptance check compare against ONNX Runtime.

    /usr/bin/python3 models/cnn-test/train.py
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn

SEED = 20261123
CLASSES = 10
SIZE = 28


def glyph(cls: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy 28x28 glyph of class cls, jittered in position and thickness."""
    img = np.zeros((SIZE, SIZE), np.float32)
    c = SIZE // 2 + rng.integers(-3, 4, size=2)
    r = int(rng.integers(5, 9))
    t = int(rng.integers(1, 3))
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    dy, dx = y - c[0], x - c[1]
    if cls == 0:
        img[np.abs(dx) <= t] = 1  # vertical bar
    elif cls == 1:
        img[np.abs(dy) <= t] = 1  # horizontal bar
    elif cls == 2:
        img[np.abs(dx - dy) <= t] = 1  # diagonal
    elif cls == 3:
        img[np.abs(dx + dy) <= t] = 1  # anti-diagonal
    elif cls == 4:
        img[(np.abs(dx) <= t) | (np.abs(dy) <= t)] = 1  # cross
    elif cls == 5:
        img[(np.maximum(np.abs(dx), np.abs(dy)) - r).__abs__() <= t] = 1  # box
    elif cls == 6:
        img[np.abs(np.sqrt(dx**2 + dy**2) - r) <= t] = 1  # ring
    elif cls == 7:
        img[np.sqrt(dx**2 + dy**2) <= r] = 1  # disc
    elif cls == 8:
        img[(np.abs(dx) <= r) & (np.abs(dy) <= r)] = 1  # filled square
    else:
        img[(np.abs(dx) + np.abs(dy)) <= r] = 1  # diamond
    img += rng.normal(0, 0.25, img.shape).astype(np.float32)
    return img


def dataset(n: int, rng: np.random.Generator):
    ys = rng.integers(0, CLASSES, size=n)
    xs = np.stack([glyph(int(c), rng) for c in ys])[:, None]
    return torch.from_numpy(xs), torch.from_numpy(ys.astype(np.int64))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 512), nn.ReLU(), nn.Linear(512, CLASSES))

    def forward(self, x):
        return torch.softmax(self.head(self.features(x)), dim=1)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=here)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    xtr, ytr = dataset(6000, rng)
    xte, yte = dataset(1000, rng)

    model = CNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            p = model(xtr[idx])
            loss = nn.functional.nll_loss(torch.log(p + 1e-9), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f} held-out acc {acc:.4f}", flush=True)
    seconds = time.time() - start

    vdir = os.path.join(args.out, "1")
    os.makedirs(vdir, exist_ok=True)
    onnx_path = os.path.join(vdir, "model.onnx")
    torch.onnx.export(model, xte[:1], onnx_path, input_names=["input"], output_names=["probs"],
                      dynamic_axes={"input": {0: "batch"}, "probs": {0: "batch"}}, opset_version=13)

    import onnx
    # Debian's onnx has no reference evaluator: the graph is checked here and
    # its numbers against torch's by the Go tests through ONNX Runtime.
    onnx.checker.check_model(onnx.load(onnx_path))
    ref = xte[:4]
    with torch.no_grad():
        want = model(ref).numpy()

    with open(os.path.join(vdir, "config.yaml"), "w") as f:
        f.write("""# cnn-test: a small CNN for exercising the serving stack (see ../MODEL_CARD.md).
name: cnn-test
max_batch_size: 64
inputs:
  - {name: input, datatype: FP32, shape: [1, 28, 28]}
outputs:
  - {name: probs, datatype: FP32, shape: [10]}
batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [16, 32, 64]
  max_queue_size: 2048
  default_timeout: 5s
instances: 1
intra_op_threads: 2
labels: [vbar, hbar, diag, antidiag, cross, box, ring, disc, square, diamond]
""")

    tdir = os.path.join(args.out, "testdata")
    os.makedirs(tdir, exist_ok=True)
    with open(os.path.join(tdir, "reference.json"), "w") as f:
        json.dump({"shape": list(ref.shape), "input": [round(float(v), 6) for v in ref.numpy().ravel()],
                   "probs": [float(v) for v in want.ravel()]}, f)
    # Recompute the reference from the rounded inputs so comparisons are exact to float32.
    with open(os.path.join(tdir, "reference.json")) as f:
        r = json.load(f)
    rin = torch.tensor(r["input"], dtype=torch.float32).reshape(r["shape"])
    with torch.no_grad():
        r["probs"] = [float(v) for v in model(rin).numpy().ravel()]
    with open(os.path.join(tdir, "reference.json"), "w") as f:
        json.dump(r, f)

    size = os.path.getsize(onnx_path)
    with open(os.path.join(args.out, "MODEL_CARD.md"), "w") as f:
        f.write(f"""# cnn-test (version 1)

A small CNN that exists to exercise and benchmark the serving stack (model
repository, session pool, dynamic batcher, KServe v2). It is **not** a medical
model.

- Task: 10-class synthetic glyphs (bars, crosses, boxes, rings, discs…), 28×28, Gaussian noise σ=0.25, generated by `train.py` with seed {SEED}.
- Architecture: conv3×3(16)–pool–conv3×3(32)–pool–dense(1568→512)–dense(512→10)–softmax; {sum(p.numel() for p in model.parameters()):,} parameters, ONNX {size/1e6:.1f} MB, opset 13, dynamic batch dimension.
- Input `input` FP32 [N,1,28,28]; output `probs` FP32 [N,10].
- Training: Adam 1e-3, {args.epochs} epochs × 6,000 images, {seconds:.0f} s on one CPU thread.
- Held-out accuracy (1,000 fresh glyphs): {acc:.4f}.
- Reproduce: `/usr/bin/python3 models/cnn-test/train.py` (deterministic; rewrites 1/model.onnx, 1/config.yaml, testdata/reference.json and this card).
- `testdata/reference.json` holds 4 inputs and torch's outputs; Go tests check that ONNX Runtime served through the batcher returns the same numbers.
""")
    print(f"wrote {onnx_path} ({size} bytes), held-out acc {acc:.4f}")


if __name__ == "__main__":
    main()
