#!/usr/bin/env python3
"""Train the dermatology (7 HAM10000 classes) classifier and export it to ONNX.

    /usr/bin/python3 models/dermatology/train.py                     # full run, writes models/dermatology/1/
    /usr/bin/python3 models/dermatology/train.py --search            # candidate comparison on val only, writes nothing

Data: $FENZHEN_DATA/derm/dermamnist_like.npz (default ../shared/data relative to
the repo root): 64x64 RGB, classes 0 akiec, 1 bcc, 2 bkl, 3 df, 4 mel, 5 nv, 6 vasc.
Model selection uses the validation split only; test is evaluated once, at the
end, on the exported ONNX graph (via a NumPy evaluator of that graph).

Output contract (the Go server depends on it):
  input  "image" FP32 [N,3,S,S] = (uint8/255 - mean[c])/std[c], RGB, NCHW, dynamic N
         (S and mean/std are written to 1/config.yaml; mean/std computed on train)
  output "probs" FP32 [N,7] softmax probabilities in label order
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pylib"))  # shared helpers of the training scripts
import onnx_numpy  # noqa: E402  (a small NumPy evaluator of the exported graph)
from train_common import Block, auc_binary, default_data, set_determinism  # noqa: E402

LABELS = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
K = len(LABELS)


# --------------------------------------------------------------------------- model
class SmallResNet(nn.Module):
    """ResNet-like: 3x3 stem (stride 1 or 2), stages of BasicBlocks (first stage
    stride 1, then 2), GAP, dropout, FC."""

    def __init__(self, in_ch=3, width=24, blocks=(1, 1, 1, 1), n_classes=K, dropout=0.2, stem_stride=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, width, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for i, n in enumerate(blocks):
            cout = width * 2 ** i
            for j in range(n):
                layers.append(Block(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, n_classes)

    def forward(self, x):
        x = self.layers(self.stem(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(self.drop(x))


class Exported(nn.Module):
    """What goes into the ONNX: for each member and each of the flip views
    (identity, horizontal, vertical, both; dermoscopy has no canonical
    orientation), the log-softmax; their mean; plus a fixed per-class logit
    bias alpha*log(train prior) with alpha tuned on val; softmax."""

    def __init__(self, members, tta, bias):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.tta = tta
        self.register_buffer("bias", torch.tensor(bias, dtype=torch.float32).view(1, -1))

    def forward(self, image):
        views = [image]
        if self.tta:
            views += [torch.flip(image, [3]), torch.flip(image, [2]), torch.flip(image, [2, 3])]
        z = None
        for m in self.members:
            for v in views:
                lp = F.log_softmax(m(v), dim=1)
                z = lp if z is None else z + lp
        z = z / float(len(self.members) * len(views)) + self.bias
        return F.softmax(z, dim=1)


# --------------------------------------------------------------------------- data
def area_weights(n_in, n_out):
    """Row-stochastic (n_out, n_in) matrix of exact area overlaps: output pixel i
    covers input [i*s, (i+1)*s) with s = n_in/n_out (a box filter, like PIL BOX
    or OpenCV INTER_AREA); identity when n_in == n_out."""
    s = n_in / n_out
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        a, b = i * s, (i + 1) * s
        for j in range(int(np.floor(a)), min(n_in, int(np.ceil(b)))):
            w[i, j] = max(0.0, min(b, j + 1) - max(a, j))
    return w / s


def area_resize(x, size):
    """Area-averaging resize of uint8 NHWC images to size x size (float64, 0..255),
    the resize the Go side applies; identity at the native 64."""
    n, h, w, c = x.shape
    if size == h and size == w:
        return x.astype(np.float64)
    wy, wx = area_weights(h, size), area_weights(w, size)
    return np.einsum("yh,nhwc,xw->nyxc", wy, x.astype(np.float64), wx, optimize=True)


def load(path, size):
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found; pass --data DIR or set FENZHEN_DATA (folder holding derm/dermamnist_like.npz)")
    d = np.load(path)
    raw = {s: d[f"{s}_images"] for s in ("train", "val", "test")}
    lab = {s: d[f"{s}_labels"].ravel().astype(np.int64) for s in ("train", "val", "test")}
    tr = area_resize(raw["train"], size) / 255.0
    mean = tr.reshape(-1, 3).mean(0)
    std = tr.reshape(-1, 3).std(0)
    mean = [round(float(v), 4) for v in mean]
    std = [round(float(v), 4) for v in std]
    out = {}
    for s in ("train", "val", "test"):
        x = area_resize(raw[s], size) / 255.0
        x = (x - np.array(mean)) / np.array(std)
        x = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32).copy())
        out[s] = (x, torch.from_numpy(lab[s]), raw[s])
    return out, mean, std


def augment(x, g, cfg):
    """Dihedral flips, random rotation/scale/shift (bilinear, reflection padding)
    and a small brightness/contrast jitter on normalised tensors. Forward-only,
    so deterministic on CPU."""
    n, _, h, w = x.shape
    hf = torch.rand(n, generator=g) < 0.5
    vf = torch.rand(n, generator=g) < 0.5
    x = torch.where(hf.view(-1, 1, 1, 1), torch.flip(x, [3]), x)
    x = torch.where(vf.view(-1, 1, 1, 1), torch.flip(x, [2]), x)
    ang = (torch.rand(n, generator=g) * 2 - 1) * cfg["rot"] * np.pi / 180
    sc = 1 + (torch.rand(n, generator=g) * 2 - 1) * cfg["scale"]
    tx = (torch.rand(n, generator=g) * 2 - 1) * cfg["shift"]
    ty = (torch.rand(n, generator=g) * 2 - 1) * cfg["shift"]
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if cfg["jitter"] > 0:
        b = (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * cfg["jitter"] * 4
        c = 1 + (torch.rand(n, 1, 1, 1, generator=g) * 2 - 1) * cfg["jitter"]
        x = x * c + b
    return x


# --------------------------------------------------------------------------- metrics
def multiclass_metrics(y, p):
    pred = p.argmax(1)
    cm = np.zeros((K, K), int)
    for t, q in zip(y, pred):
        cm[t, q] += 1
    recall = cm.diagonal() / np.maximum(cm.sum(1), 1)
    aucs = [auc_binary((y == k).astype(int), p[:, k]) for k in range(K)]
    mel_vs_rest = auc_binary((y == 4).astype(int), p[:, 4])
    malignant = np.isin(y, [0, 1, 4]).astype(int)
    return {
        "acc": float((pred == y).mean()),
        "macro_auc": float(np.mean(aucs)),
        "balanced_acc": float(recall.mean()),
        "recall": {LABELS[k]: float(recall[k]) for k in range(K)},
        "auc": {LABELS[k]: float(aucs[k]) for k in range(K)},
        "mel_auc": mel_vs_rest,
        "malignant_auc": auc_binary(malignant, p[:, [0, 1, 4]].sum(1)),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_rows": "true x predicted, label order " + ",".join(LABELS),
    }


@torch.no_grad()
def predict_logp(model, x, tta=False, bs=512):
    model.eval()
    out = []
    for i in range(0, len(x), bs):
        xb = x[i:i + bs]
        views = [xb] + ([torch.flip(xb, [3]), torch.flip(xb, [2]), torch.flip(xb, [2, 3])] if tta else [])
        out.append(sum(F.log_softmax(model(v), 1) for v in views) / len(views))
    return torch.cat(out)


# --------------------------------------------------------------------------- training
def train_one(cfg, data, seed, log=print):
    set_determinism(seed)
    xtr, ytr, _ = data["train"]
    xva, yva, _ = data["val"]
    model = SmallResNet(3, cfg["width"], tuple(cfg["blocks"]), K, cfg["dropout"], cfg["stem_stride"])
    counts = torch.bincount(ytr, minlength=K).float()
    w = (counts.sum() / (K * counts)) ** cfg["class_weight_power"]
    crit = nn.CrossEntropyLoss(weight=w, label_smoothing=cfg["label_smoothing"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    steps_per_epoch = (len(xtr) + cfg["bs"] - 1) // cfg["bs"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * steps_per_epoch, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    for ep in range(cfg["epochs"]):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        tot = 0.0
        for i in range(0, len(xtr), cfg["bs"]):
            idx = perm[i:i + cfg["bs"]]
            xb = augment(xtr[idx], g, cfg)
            loss = crit(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        if ep % 5 == 4 or ep == cfg["epochs"] - 1:
            p = predict_logp(model, xva).exp().numpy()
            m = multiclass_metrics(yva.numpy(), p)
            log(f"  seed {seed} epoch {ep + 1}/{cfg['epochs']} loss {tot / len(xtr):.4f} val acc {m['acc']:.4f} "
                f"macro-auc {m['macro_auc']:.4f} bal {m['balanced_acc']:.4f} ({time.time() - t0:.1f}s/epoch)", flush=True)
    return model


BASE = dict(size=32, stem_stride=1, width=24, blocks=[1, 1, 1, 1], dropout=0.2, epochs=20, bs=64, lr=3e-3, wd=5e-4,
            rot=180.0, scale=0.1, shift=0.08, jitter=0.1, class_weight_power=0.5, label_smoothing=0.05)

# Candidates compared on val by --search (see MODEL_CARD.md for the numbers).
SEARCH = {
    "s32_w24": {},
    "s64_w24_stem2": dict(size=64, stem_stride=2),
    "s32_w32": dict(width=32),
    "s32_w24_cw0": dict(class_weight_power=0.0),
    "s32_w24_cw1": dict(class_weight_power=1.0),
    "s28_w24": dict(size=28),
}

# The configuration chosen from the search (on val).
FINAL = dict(BASE)  # s32_w24 beat s64_w24_stem2 on val macro-AUC and balanced acc at equal cost (12 epochs, seed 1)
FINAL_TTA = True


def config_yaml(size, mean, std):
    return f"""name: dermatology
max_batch_size: 64
inputs:
  - {{name: image, datatype: FP32, shape: [3, {size}, {size}]}}
outputs:
  - {{name: probs, datatype: FP32, shape: [7]}}
batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [16, 32, 64]
  max_queue_size: 1024
  default_timeout: 5s
instances: 1
intra_op_threads: 1
labels: [{", ".join(LABELS)}]
preprocess: {{width: {size}, height: {size}, channels: 3, mean: [{", ".join(str(v) for v in mean)}], std: [{", ".join(str(v) for v in std)}]}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=default_data(), help="data folder (default $FENZHEN_DATA or ../shared/data)")
    ap.add_argument("--out", default=HERE, help="model folder; writes OUT/1/{model.onnx,config.yaml,metrics.json} and OUT/testdata/")
    ap.add_argument("--seeds", default="1,2", help="comma-separated seeds; one ensemble member each")
    ap.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--search", action="store_true", help="compare candidate configs on val (seed 1); no export")
    ap.add_argument("--only", default="", help="with --search: comma-separated candidate names")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    npz = os.path.join(args.data, "derm", "dermamnist_like.npz")

    if args.search:
        names = [n for n in SEARCH if not args.only or n in args.only.split(",")]
        cache = {}
        for name in names:
            cfg = dict(BASE, **SEARCH[name])
            if args.epochs:
                cfg["epochs"] = args.epochs
            if cfg["size"] not in cache:
                cache[cfg["size"]] = load(npz, cfg["size"])
            data = cache[cfg["size"]][0]
            t0 = time.time()
            m = train_one(cfg, data, 1)
            nparams = sum(q.numel() for q in m.parameters())
            for tta in (False, True):
                p = predict_logp(m, data["val"][0], tta).exp().numpy()
                r = multiclass_metrics(data["val"][1].numpy(), p)
                print(f"SEARCH {name} tta={tta}: val acc {r['acc']:.4f} macro-auc {r['macro_auc']:.4f} bal {r['balanced_acc']:.4f} "
                      f"mel {r['recall']['mel']:.3f} bcc {r['recall']['bcc']:.3f} akiec {r['recall']['akiec']:.3f} "
                      f"params {nparams} time {time.time() - t0:.0f}s", flush=True)
        return

    cfg = dict(FINAL)
    if args.epochs:
        cfg["epochs"] = args.epochs
    data, mean, std = load(npz, cfg["size"])
    print(f"input {cfg['size']}x{cfg['size']}, train mean {mean} std {std}")
    for s in ("train", "val", "test"):
        c = np.bincount(data[s][1].numpy(), minlength=K)
        print(f"{s}: {len(data[s][1])} images, " + ", ".join(f"{LABELS[k]} {c[k]}" for k in range(K)))
    seeds = [int(s) for s in args.seeds.split(",")]
    t_start = time.time()
    members = []
    for seed in seeds:
        print(f"training member seed={seed} cfg={cfg}", flush=True)
        members.append(train_one(cfg, data, seed))
    train_s = time.time() - t_start

    # Logit adjustment: the class-weighted loss pushes decisions towards rare
    # classes; adding alpha*log(prior) moves them back. alpha maximises
    # (accuracy + balanced accuracy)/2 on val (ties towards smaller alpha).
    prior = np.bincount(data["train"][1].numpy(), minlength=K) / len(data["train"][1])
    lp = (sum(predict_logp(m, data["val"][0], FINAL_TTA) for m in members) / len(members)).numpy()
    best = None
    for alpha in np.round(np.arange(0, 1.01, 0.05), 2):
        r = multiclass_metrics(data["val"][1].numpy(), lp + alpha * np.log(prior))
        score = (r["acc"] + r["balanced_acc"]) / 2
        print(f"  alpha {alpha:.2f}: val acc {r['acc']:.4f} bal {r['balanced_acc']:.4f}")
        if best is None or score > best[0] + 1e-9:
            best = (score, float(alpha))
    alpha = best[1]
    bias = [float(alpha * np.log(v)) for v in prior]
    print(f"chosen alpha {alpha} bias {[round(b, 4) for b in bias]}")
    model = Exported(members, FINAL_TTA, bias).eval()
    onnx_path = export(model, args.out, data, cfg["size"], mean, std)

    # Metrics come from the exported module (the function the ONNX computes:
    # export() checked ONNX == torch to < 1e-4 on a val batch). The NumPy ONNX
    # evaluator is too slow on this CPU for all 2,260 images x 4 views.
    res = {}
    for s in ("val", "test"):
        x, y, _ = data[s]
        with torch.no_grad():
            p = torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)]).numpy()
        r = multiclass_metrics(y.numpy(), p)
        res[s] = r
        print(f"{s}: acc {r['acc']:.4f} macro-auc {r['macro_auc']:.4f} bal {r['balanced_acc']:.4f} recall "
              + " ".join(f"{k} {v:.3f}" for k, v in r["recall"].items()), flush=True)
    metrics = {
        "model": "dermatology", "version": "1", "dataset": "HAM10000 / ISIC 2018 Task 3, dermamnist_like.npz (64x64)",
        "labels": LABELS, "decision": "argmax of probs (val-tuned logit adjustment alpha*log(prior) folded in)",
        "logit_adjust_alpha": alpha, "logit_bias": bias,
        "input_size": cfg["size"], "mean": mean, "std": std, "tta_flips_in_graph": FINAL_TTA,
        "seeds": seeds, "config": cfg, "train_seconds": round(train_s, 1), "torch_threads": args.threads,
        "params_per_member": sum(q.numel() for q in members[0].parameters()),
        "onnx_bytes": os.path.getsize(onnx_path),
        "val": res["val"], "test": res["test"],
        "baselines_dermamnist_test_not_comparable": {"ResNet-18 (28)": {"acc": 0.735, "auc": 0.917},
                                                     "best ACC (AutoML Vision)": {"acc": 0.768}},
    }
    with open(os.path.join(args.out, "1", "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    write_testdata(args.out, data, model, cfg["size"])
    print(f"done in {time.time() - t_start:.0f}s")


def export(model, out, data, size, mean, std):
    import onnx
    vdir = os.path.join(out, "1")
    os.makedirs(vdir, exist_ok=True)
    path = os.path.join(vdir, "model.onnx")
    tmp = path + ".tmp"
    dummy = data["val"][0][:4]
    torch.onnx.export(model, dummy, tmp, input_names=["image"], output_names=["probs"],
                      dynamic_axes={"image": {0: "N"}, "probs": {0: "N"}}, opset_version=17,
                      do_constant_folding=True)
    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    x = data["val"][0][:37]
    with torch.no_grad():
        pt = model(x).numpy()
    po = onnx_numpy.run(tmp, {"image": x.numpy()})["probs"]
    err = float(np.abs(pt - po).max())
    print(f"onnx check ok; max |torch - onnx| = {err:.2e} on {len(x)} images; size {os.path.getsize(tmp)} bytes")
    if err > 1e-4:
        sys.exit("error: exported ONNX disagrees with torch")
    os.replace(tmp, path)
    with open(os.path.join(vdir, "config.yaml"), "w") as f:
        f.write(config_yaml(size, mean, std))
    return path


def write_testdata(out, data, model, size):
    """One test image per class as a 64x64 RGB PNG (the npz's native size) and
    the torch probabilities for them, so the Go side can assert
    resize+preprocess+ORT == torch (at size 32 the Go resize is a 2x2 box mean)."""
    from PIL import Image
    tdir = os.path.join(out, "testdata")
    os.makedirs(tdir, exist_ok=True)
    x, y, raw = data["test"]
    idx = [int(np.where(y.numpy() == k)[0][0]) for k in range(K)] + [int(np.where(y.numpy() == 5)[0][1])]
    with torch.no_grad():
        p = model(x[idx]).numpy()
    cases = []
    for k, i in enumerate(idx):
        name = f"test_{i:04d}_{LABELS[int(y[i])]}.png"
        Image.fromarray(raw[i]).save(os.path.join(tdir, name))
        cases.append({"file": name, "label": LABELS[int(y[i])], "probs": [round(float(v), 7) for v in p[k]]})
    with open(os.path.join(tdir, "expected.json"), "w") as f:
        json.dump({"model": "dermatology", "version": "1", "labels": LABELS, "input_size": size, "tolerance": 1e-4,
                   "source": "dermamnist_like.npz test split (ISIC 2018 Task 3 test), index in the file name",
                   "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
