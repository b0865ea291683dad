#!/usr/bin/env python3
"""Train the dermatology (7 HAM10000 classes) classifier at 64x64 and export it to ONNX.

    /usr/bin/python3 models/dermatology/train.py                     # full run, writes models/dermatology/1/
    /usr/bin/python3 models/dermatology/train.py --search a,b,c      # candidate comparison on val only, writes nothing

Data: $FENZHEN_DATA/derm/dermamnist_like.npz (default ../shared/data relative to
the repo root): 64x64 RGB, classes 0 akiec, 1 bcc, 2 bkl, 3 df, 4 mel, 5 nv, 6 vasc.
Model selection, the operating point and the input-gate calibration use the
validation split only; test is evaluated once, at the end, on the exported graph.

Output contract (the Go server depends on it):
  input  "image" FP32 [N,3,64,64] = (uint8/255 - mean[c])/std[c], RGB, NCHW, dynamic N
         (mean/std are written to 1/config.yaml; computed on train)
  output "probs" FP32 [N,7] softmax probabilities in label order (no decision bias:
         the served decision is argmax(log probs + logit_bias) with the
         operating point's bias from config.yaml)
  output "ood"   FP32 [N,1] squared Mahalanobis distance of the image's pooled
         features to the nearest class centre (tied covariance fitted on train);
         the gate thresholds in config.yaml are calibrated on val
"""
import argparse
import hashlib
import contextlib
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
MALIGNANT = [0, 1, 4]  # akiec, bcc, mel
MEL = 4


# --------------------------------------------------------------------------- model
class SmallResNet(nn.Module):
    """ResNet-like: 3x3 stem (stride 1 or 2), stages of BasicBlocks (first stage
    stride 1, then 2), GAP, dropout, FC. features() is the pooled vector the
    input gate's Mahalanobis score reads."""

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
        self.dim = cin

    def features(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1)

    def forward(self, x):
        return self.fc(self.drop(self.features(x)))


def flip_views(x):
    """Identity, horizontal, vertical and both flips: dermoscopy has no canonical orientation."""
    return [x, torch.flip(x, [3]), torch.flip(x, [2]), torch.flip(x, [2, 3])]


class Exported(nn.Module):
    """What goes into the ONNX. probs: softmax of the mean log-softmax over
    members x flip views. ood: per member, the flip-averaged pooled features are
    whitened (W) and compared with the whitened class centres; the squared
    distance to the nearest centre, averaged over members."""

    def __init__(self, members, whiten, centres):
        super().__init__()
        self.members = nn.ModuleList(members)
        for k, (w, c) in enumerate(zip(whiten, centres)):
            self.register_buffer(f"w{k}", torch.tensor(w, dtype=torch.float32))
            self.register_buffer(f"c{k}", torch.tensor(c, dtype=torch.float32))
            self.register_buffer(f"cc{k}", torch.tensor((c ** 2).sum(1), dtype=torch.float32).view(1, -1))

    def forward(self, image):
        z, ood = None, None
        views = flip_views(image)
        for k, m in enumerate(self.members):
            fs = [m.features(v) for v in views]
            for f in fs:
                lp = F.log_softmax(m.fc(f), dim=1)
                z = lp if z is None else z + lp
            f = (fs[0] + fs[1] + fs[2] + fs[3]) / 4.0
            u = torch.matmul(f, getattr(self, f"w{k}"))  # [N, D] whitened
            d = (u * u).sum(1, keepdim=True) - 2.0 * torch.matmul(u, getattr(self, f"c{k}").t()) + getattr(self, f"cc{k}")
            dmin = torch.amin(d, 1, keepdim=True)  # [N, 1]
            ood = dmin if ood is None else ood + dmin
        z = z / float(len(self.members) * len(views))
        return F.softmax(z, dim=1), ood / float(len(self.members))


# --------------------------------------------------------------------------- data
def load(path):
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found; pass --data DIR or set FENZHEN_DATA (folder holding derm/dermamnist_like.npz)")
    d = np.load(path)
    raw = {s: d[f"{s}_images"] for s in ("train", "val", "test") if f"{s}_images" in d}
    lab = {s: d[f"{s}_labels"].ravel().astype(np.int64) for s in raw}
    tr = raw["train"].astype(np.float64) / 255.0
    mean = [round(float(v), 4) for v in tr.reshape(-1, 3).mean(0)]
    std = [round(float(v), 4) for v in tr.reshape(-1, 3).std(0)]
    out = {}
    for s in raw:
        x = (raw[s].astype(np.float64) / 255.0 - np.array(mean)) / np.array(std)
        x = torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float32).copy())
        out[s] = (x, torch.from_numpy(lab[s]), raw[s])
    return out, mean, std


def hue_matrices(theta):
    """3x3 rotations of RGB about the grey axis by theta (radians), [n, 3, 3]."""
    u = torch.full((3,), 1 / np.sqrt(3.0))
    uu = torch.outer(u, u)
    ux = torch.tensor([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    c, s = torch.cos(theta).view(-1, 1, 1), torch.sin(theta).view(-1, 1, 1)
    return c * torch.eye(3) + (1 - c) * uu + s * ux


def augment(x, g, cfg, mean, std):
    """Dermoscopy augmentation on normalised NCHW tensors, all drawn from the
    seeded generator g (forward-only ops, deterministic on CPU):
    random resized crop (area cfg.crop..1, aspect 3/4..4/3) with a random
    rotation (+-cfg.rot degrees) and flips, reflection padding, bilinear; then
    colour jitter in RGB: brightness, contrast, saturation, hue rotation about
    the grey axis, per-channel gain."""
    n, _, h, w = x.shape
    dev = x.device
    r = lambda *shape: torch.rand(*shape, generator=g)  # noqa: E731
    area = cfg["crop"] + (1 - cfg["crop"]) * r(n)
    logr = (r(n) * 2 - 1) * np.log(4 / 3)
    sx = torch.sqrt(area * torch.exp(logr)).clamp(max=1.0)
    sy = torch.sqrt(area / torch.exp(logr)).clamp(max=1.0)
    ang = (r(n) * 2 - 1) * cfg["rot"] * np.pi / 180
    fx = torch.where(r(n) < 0.5, -1.0, 1.0)
    fy = torch.where(r(n) < 0.5, -1.0, 1.0)
    tx = (r(n) * 2 - 1) * (1 - sx)
    ty = (r(n) * 2 - 1) * (1 - sy)
    cos, sin = torch.cos(ang), torch.sin(ang)
    a, b = sx * fx, sy * fy  # theta = R(ang) @ diag(a, b), then the shift
    theta = torch.stack([torch.stack([cos * a, -sin * b, tx], 1), torch.stack([sin * a, cos * b, ty], 1)], 1)
    grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    j = cfg["jitter"]
    if j > 0:
        m = torch.tensor(mean, device=dev).view(1, 3, 1, 1)
        s = torch.tensor(std, device=dev).view(1, 3, 1, 1)
        x = x * s + m  # back to [0,1] RGB
        bright = (1 + (r(n) * 2 - 1) * j).view(-1, 1, 1, 1).to(dev)
        contrast = (1 + (r(n) * 2 - 1) * j).view(-1, 1, 1, 1).to(dev)
        sat = (1 + (r(n) * 2 - 1) * j).view(-1, 1, 1, 1).to(dev)
        gain = (1 + (r(n, 3) * 2 - 1) * j / 2).view(-1, 3, 1, 1).to(dev)
        hue = hue_matrices((r(n) * 2 - 1) * cfg["hue"] * 2 * np.pi).to(dev)
        x = x * bright
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = (x - grey.mean((2, 3), keepdim=True)) * contrast + grey.mean((2, 3), keepdim=True)
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
        x = grey + (x - grey) * sat
        x = torch.einsum("nij,njhw->nihw", hue, x) * gain
        x = (x.clamp(0, 1) - m) / s
    return x


# --------------------------------------------------------------------------- metrics
def decide(logp, bias):
    return (logp + np.asarray(bias)).argmax(1)


def multiclass_metrics(y, p, bias=None):
    """Figures of probabilities p (AUCs) and of the decision argmax(log p + bias)."""
    pred = decide(np.log(np.maximum(p, 1e-12)), np.zeros(K) if bias is None else bias)
    cm = np.zeros((K, K), int)
    for t, q in zip(y, pred):
        cm[t, q] += 1
    recall = cm.diagonal() / np.maximum(cm.sum(1), 1)
    aucs = [auc_binary((y == k).astype(int), p[:, k]) for k in range(K)]
    malignant = np.isin(y, MALIGNANT).astype(int)
    pred_mal = np.isin(pred, MALIGNANT)
    return {
        "acc": float((pred == y).mean()),
        "macro_auc": float(np.mean(aucs)),
        "balanced_acc": float(recall.mean()),
        "recall": {LABELS[k]: float(recall[k]) for k in range(K)},
        "auc": {LABELS[k]: float(aucs[k]) for k in range(K)},
        "mel_auc": auc_binary((y == MEL).astype(int), p[:, MEL]),
        "malignant_auc": auc_binary(malignant, p[:, MALIGNANT].sum(1)),
        "malignant_sensitivity": float(pred_mal[malignant == 1].mean()),
        "malignant_specificity": float((~pred_mal[malignant == 0]).mean()),
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_rows": "true x predicted, label order " + ",".join(LABELS),
    }


@torch.no_grad()
def predict(models, x, bs=256):
    """Mean log-softmax over members and flip views, and flip-averaged features per member."""
    lps, feats = [], [[] for _ in models]
    for i in range(0, len(x), bs):
        xb = x[i:i + bs]
        views = flip_views(xb)
        lp = 0
        for k, m in enumerate(models):
            m.eval()
            fs = [m.features(v) for v in views]
            lp = lp + sum(F.log_softmax(m.fc(f), 1) for f in fs)
            feats[k].append((sum(fs) / 4).cpu())
        lps.append((lp / (len(models) * len(views))).cpu())
    return torch.cat(lps).numpy().astype(np.float64), [torch.cat(f).numpy().astype(np.float64) for f in feats]


# --------------------------------------------------------------------------- training
class EMA:
    """Exponential moving average of the weights (BatchNorm statistics copied)."""

    def __init__(self, model, decay):
        import copy
        self.model = copy.deepcopy(model).eval()
        self.decay = decay
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        for pe, p in zip(self.model.parameters(), model.parameters()):
            pe.mul_(self.decay).add_(p.detach(), alpha=1 - self.decay)
        for be, b in zip(self.model.buffers(), model.buffers()):
            be.copy_(b)


def train_one(cfg, data, seed, mean, std, device="cpu", log=print):
    set_determinism(seed)
    if device != "cpu":  # a sweep on a GPU: some CUDA backward kernels have no deterministic version
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = True
    xtr, ytr, _ = data["train"]
    xva, yva, _ = data["val"]
    xtr = xtr.to(device)
    model = SmallResNet(3, cfg["width"], tuple(cfg["blocks"]), K, cfg["dropout"], cfg["stem_stride"]).to(device)
    counts = torch.bincount(ytr, minlength=K).double()
    prior = counts / counts.sum()
    # Class balance: per-sample sampling weight n_c^-sample_power and a loss
    # weight (n/(K n_c))^class_weight_power; logit adjustment (Menon et al.
    # 2021) adds tau*log(prior) to the logits in the loss only.
    w = ((counts.sum() / (K * counts)) ** cfg["class_weight_power"]).float().to(device)
    ladj = (cfg["logit_adjust"] * torch.log(prior)).float().to(device)
    crit = nn.CrossEntropyLoss(weight=w, label_smoothing=cfg["label_smoothing"])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"])
    n_per_epoch = len(xtr)
    steps_per_epoch = (n_per_epoch + cfg["bs"] - 1) // cfg["bs"]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * steps_per_epoch, pct_start=0.15)
    g = torch.Generator().manual_seed(seed)
    samp_w = (counts[ytr] ** -cfg["sample_power"]).double()
    ema = EMA(model, cfg["ema"]) if cfg["ema"] > 0 else None
    ytr_d = ytr.to(device)
    for ep in range(cfg["epochs"]):
        t0 = time.time()
        model.train()
        if cfg["sample_power"] > 0:
            perm = torch.multinomial(samp_w, n_per_epoch, replacement=True, generator=g)
        else:
            perm = torch.randperm(n_per_epoch, generator=g)
        tot = 0.0
        for i in range(0, n_per_epoch, cfg["bs"]):
            idx = perm[i:i + cfg["bs"]].to(device)
            xb = augment(xtr[idx], g, cfg, mean, std)
            yb = ytr_d[idx]
            # bf16 autocast only in a GPU sweep; the committed model trains in fp32 on the CPU.
            amp = torch.autocast("cuda", dtype=torch.bfloat16) if device != "cpu" else contextlib.nullcontext()
            with amp:
                if cfg["mixup"] > 0:
                    lam = float(np.random.beta(cfg["mixup"], cfg["mixup"]))  # numpy is seeded by set_determinism
                    j = torch.randperm(len(idx), generator=g).to(device)
                    out = model(lam * xb + (1 - lam) * xb[j]).float() + ladj
                    loss = lam * crit(out, yb) + (1 - lam) * crit(out, yb[j])
                else:
                    loss = crit(model(xb).float() + ladj, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            tot += loss.item() * len(idx)
        if ep % 10 == 9 or ep == cfg["epochs"] - 1:
            m = ema.model if ema is not None else model
            lp, _ = predict([m], xva.to(device))
            r = multiclass_metrics(yva.numpy(), np.exp(lp))
            log(f"  seed {seed} epoch {ep + 1}/{cfg['epochs']} loss {tot / n_per_epoch:.4f} val acc {r['acc']:.4f} "
                f"macro-auc {r['macro_auc']:.4f} bal {r['balanced_acc']:.4f} mel {r['recall']['mel']:.3f} ({time.time() - t0:.1f}s/epoch)", flush=True)
    out = ema.model if ema is not None else model
    return out.cpu().eval()


# --------------------------------------------------------------------------- operating point
def choose_operating_point(y, logp, prior, min_mel=0.75, min_malignant=0.50):
    """The served decision is argmax(log p + b) with
    b = alpha*log(prior) + beta_mel*[mel] + beta_mal*[akiec, bcc]:
    alpha moves decisions towards the frequent classes (accuracy), the betas
    towards the malignant ones. On val, among the grid points where melanoma
    recall >= min_mel and akiec and bcc recall >= min_malignant, pick the one
    with the highest (accuracy + balanced accuracy)/2 (ties: smaller |b|);
    when none qualifies, the one with the highest melanoma recall."""
    best = None
    lp = np.log(prior)
    for alpha in np.round(np.arange(0.0, 1.01, 0.1), 2):
        for bm in np.round(np.arange(0.0, 2.01, 0.1), 2):
            for bk in np.round(np.arange(0.0, 1.51, 0.25), 2):
                b = alpha * lp
                b[MEL] += bm
                b[0] += bk
                b[1] += bk
                pred = decide(logp, b)
                rec = np.array([(pred[y == k] == k).mean() for k in range(K)])
                acc = (pred == y).mean()
                ok = rec[MEL] >= min_mel and rec[0] >= min_malignant and rec[1] >= min_malignant
                score = (ok, (acc + rec.mean()) / 2 if ok else rec[MEL], -(alpha + bm + bk))
                if best is None or score > best[0]:
                    best = (score, float(alpha), float(bm), float(bk), [float(v) for v in b])
    _, alpha, bm, bk, b = best
    return {"alpha": alpha, "beta_mel": bm, "beta_akiec_bcc": bk, "logit_bias": [round(v, 6) for v in b],
            "met_constraints": bool(best[0][0]), "min_mel_recall_val": min_mel, "min_akiec_bcc_recall_val": min_malignant}


# --------------------------------------------------------------------------- input gate (OOD)
def fit_mahalanobis(feats, y, shrink=0.05):
    """Class means and a tied covariance of the pooled train features (shrunk
    towards its diagonal mean); returns W (D x D) with W W^T = Sigma^-1 and the
    whitened centres (K x D)."""
    mu = np.stack([feats[y == k].mean(0) for k in range(K)])
    xc = feats - mu[y]
    cov = xc.T @ xc / len(feats)
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / len(cov) * np.eye(len(cov))
    evals, evecs = np.linalg.eigh(cov)
    w = evecs / np.sqrt(np.maximum(evals, 1e-8))
    return w, mu @ w


def ood_scores(feats, w, c):
    u = feats @ w
    d = (u ** 2).sum(1, keepdims=True) - 2 * u @ c.T + (c ** 2).sum(1)[None]
    return d.min(1)


BASE = dict(size=64, stem_stride=2, width=32, blocks=[1, 1, 1, 1], dropout=0.2, epochs=40, bs=64, lr=3e-3, wd=5e-4,
            rot=180.0, crop=0.55, jitter=0.15, hue=0.03, class_weight_power=0.0, sample_power=0.0, logit_adjust=0.0,
            label_smoothing=0.05, mixup=0.0, ema=0.0)

# Candidates compared on val by --search (see MODEL_CARD.md for the numbers).
SEARCH = {
    "old_aug_cw05": dict(crop=1.0, jitter=0.0, hue=0.0, class_weight_power=0.5),
    "cw05": dict(class_weight_power=0.5),
    "cw10": dict(class_weight_power=1.0),
    "samp05": dict(sample_power=0.5),
    "samp10": dict(sample_power=1.0),
    "la10": dict(logit_adjust=1.0),
    "cw05_ema": dict(class_weight_power=0.5, ema=0.998),
    "cw05_mix": dict(class_weight_power=0.5, mixup=0.3),
    "cw05_w24": dict(class_weight_power=0.5, width=24),
    "cw05_w48": dict(class_weight_power=0.5, width=48),
    "cw05_st1w16": dict(class_weight_power=0.5, width=16, stem_stride=1),
    "cw05_e60": dict(class_weight_power=0.5, epochs=60),
    "cw05_e25": dict(class_weight_power=0.5, epochs=25),
    "cw05_b2211": dict(class_weight_power=0.5, blocks=[2, 2, 1, 1]),
    "cw05_crop35": dict(class_weight_power=0.5, crop=0.35),
    "cw05_jit30": dict(class_weight_power=0.5, jitter=0.3, hue=0.06),
    "la10_ema": dict(logit_adjust=1.0, ema=0.998),
    "samp05_ema": dict(sample_power=0.5, ema=0.998),
    "cw05_ls0": dict(class_weight_power=0.5, label_smoothing=0.0),
    "cw05_lr1": dict(class_weight_power=0.5, lr=1e-3),
    "cw05_w24_e60": dict(class_weight_power=0.5, width=24, epochs=60),
    "samp05_e60_ema": dict(sample_power=0.5, epochs=60, ema=0.998),
    "cw05_e80_ema": dict(class_weight_power=0.5, epochs=80, ema=0.998),
    "cw05_jit30_ema_e60": dict(class_weight_power=0.5, jitter=0.3, hue=0.06, ema=0.998, epochs=60),
}

# The configuration chosen from the search (on val).
FINAL = dict(BASE, width=24, epochs=30, class_weight_power=0.5, ema=0.998)


def config_yaml(size, mean, std, op, gate):
    return f"""name: dermatology
max_batch_size: 64
inputs:
  - {{name: image, datatype: FP32, shape: [3, {size}, {size}]}}
outputs:
  - {{name: probs, datatype: FP32, shape: [7]}}
  - {{name: ood, datatype: FP32, shape: [1]}}
batching:
  max_queue_delay: 2ms
  preferred_batch_sizes: [16, 32, 64]
  max_queue_size: 1024
  default_timeout: 5s
instances: 1
intra_op_threads: 1
labels: [{", ".join(LABELS)}]
preprocess: {{width: {size}, height: {size}, channels: 3, mean: [{", ".join(str(v) for v in mean)}], std: [{", ".join(str(v) for v in std)}]}}
# The decision is argmax(log probs + logit_bias); chosen on val (train.py choose_operating_point).
operating_points:
  default: balanced
  points:
    balanced: {{logit_bias: [{", ".join(f"{v:.6g}" for v in op["logit_bias"])}]}}
# Input gate: the "ood" output above ood_flag gives quality.ok=false, above ood_refuse 422 (calibrated on val).
gate: {{modality: colour, ood_flag: {gate["ood_flag"]:.6g}, ood_refuse: {gate["ood_refuse"]:.6g}}}
"""


def summary(r):
    return (f"acc {r['acc']:.4f} macro-auc {r['macro_auc']:.4f} bal {r['balanced_acc']:.4f} recall "
            + " ".join(f"{k} {v:.3f}" for k, v in r["recall"].items()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=default_data(), help="data folder (default $FENZHEN_DATA or ../shared/data)")
    ap.add_argument("--npz", default="", help="data set file (default DATA/derm/dermamnist_like.npz)")
    ap.add_argument("--out", default=HERE, help="model folder; writes OUT/1/{model.onnx,config.yaml,metrics.json} and OUT/testdata/")
    ap.add_argument("--seeds", default="1,2", help="comma-separated seeds; one ensemble member each")
    ap.add_argument("--epochs", type=int, default=None, help="override the number of epochs")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device (the committed model is trained on cpu)")
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"),
                    help="keep each trained member's weights here (by config and seed) and reuse them; '' to always train")
    ap.add_argument("--search", default="", help="compare these candidates (comma-separated names, or 'all') on val; no export")
    ap.add_argument("--save-val", default="", help="with --search: save each candidate's val log-probabilities to DIR/NAME_sSEED.npy")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    npz = args.npz or os.path.join(args.data, "derm", "dermamnist_like.npz")
    data, mean, std = load(npz)
    prior = np.bincount(data["train"][1].numpy(), minlength=K) / len(data["train"][1])
    yva = data["val"][1].numpy()

    if args.search:
        names = list(SEARCH) if args.search == "all" else args.search.split(",")
        for name in names:
            cfg = dict(BASE, **SEARCH[name])
            if args.epochs:
                cfg["epochs"] = args.epochs
            t0 = time.time()
            seed = int(args.seeds.split(",")[0])
            m = train_one(cfg, data, seed, mean, std, args.device, log=lambda *a, **k: None)
            lp, _ = predict([m.to(args.device)], data["val"][0].to(args.device))
            if args.save_val:
                np.save(os.path.join(args.save_val, f"{name}_s{seed}.npy"), lp)
            r = multiclass_metrics(yva, np.exp(lp))
            op = choose_operating_point(yva, lp, prior)
            ro = multiclass_metrics(yva, np.exp(lp), op["logit_bias"])
            print(f"SEARCH {name} seed {seed}: val argmax {summary(r)} | op(a={op['alpha']} bm={op['beta_mel']} bk={op['beta_akiec_bcc']} "
                  f"ok={op['met_constraints']}) acc {ro['acc']:.4f} bal {ro['balanced_acc']:.4f} mel {ro['recall']['mel']:.3f} "
                  f"| time {time.time() - t0:.0f}s", flush=True)
        return

    cfg = dict(FINAL)
    if args.epochs:
        cfg["epochs"] = args.epochs
    print(f"input {cfg['size']}x{cfg['size']}, train mean {mean} std {std}")
    for s in ("train", "val", "test"):
        c = np.bincount(data[s][1].numpy(), minlength=K)
        print(f"{s}: {len(data[s][1])} images, " + ", ".join(f"{LABELS[k]} {c[k]}" for k in range(K)))
    seeds = [int(s) for s in args.seeds.split(",")]
    t_start = time.time()
    members = []
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:12]
    member_seconds = []
    for seed in seeds:
        path = os.path.join(args.cache, f"member_{key}_s{seed}.pt") if args.cache else ""
        if path and os.path.exists(path):
            print(f"member seed={seed}: reusing {path}", flush=True)
            m = SmallResNet(3, cfg["width"], tuple(cfg["blocks"]), K, cfg["dropout"], cfg["stem_stride"])
            saved = torch.load(path)
            m.load_state_dict(saved["state"])
            members.append(m.eval())
            member_seconds.append(saved["seconds"])
            continue
        print(f"training member seed={seed} cfg={cfg}", flush=True)
        t0 = time.time()
        members.append(train_one(cfg, data, seed, mean, std, args.device))
        member_seconds.append(round(time.time() - t0, 1))
        print(f"member seed={seed} trained in {member_seconds[-1]:.0f}s", flush=True)
        if path:
            os.makedirs(args.cache, exist_ok=True)
            torch.save({"state": members[-1].state_dict(), "seconds": member_seconds[-1]}, path)
    train_s = sum(member_seconds)  # the members' own training time, cached ones included
    print(f"trained in {train_s:.0f}s", flush=True)

    # Operating point and gate, on val only.
    lp_va, f_va = predict(members, data["val"][0])
    op = choose_operating_point(yva, lp_va, prior)
    print(f"operating point {op}")
    _, f_tr = predict(members, data["train"][0])
    whiten, centres = [], []
    for k in range(len(members)):
        w, c = fit_mahalanobis(f_tr[k], data["train"][1].numpy())
        whiten.append(w)
        centres.append(c)
    s_va = np.mean([ood_scores(f_va[k], whiten[k], centres[k]) for k in range(len(members))], 0)
    gate = gate_thresholds(s_va)
    print(f"gate {gate}")

    model = Exported(members, whiten, centres).eval()
    onnx_path = export(model, args.out, data, cfg["size"], mean, std, op, gate)

    # Figures of the exported module (export() checked ONNX == torch to < 1e-4).
    res = {}
    for s in ("val", "test"):
        x, y, _ = data[s]
        with torch.no_grad():
            outs = [model(x[i:i + 128]) for i in range(0, len(x), 128)]
        p = torch.cat([o[0] for o in outs]).numpy()
        ood = torch.cat([o[1] for o in outs]).numpy()
        r = multiclass_metrics(y.numpy(), p, op["logit_bias"])
        r["argmax"] = {k: v for k, v in multiclass_metrics(y.numpy(), p).items() if k in ("acc", "balanced_acc", "recall")}
        r["ood_flagged"] = float((ood > gate["ood_flag"]).mean())
        r["ood_refused"] = float((ood > gate["ood_refuse"]).mean())
        res[s] = r
        print(f"{s}: {summary(r)} | argmax acc {r['argmax']['acc']:.4f} bal {r['argmax']['balanced_acc']:.4f} | ood flagged {r['ood_flagged']:.4f}", flush=True)
    metrics = {
        "model": "dermatology", "version": "1", "dataset": "HAM10000 / ISIC 2018 Task 3, dermamnist_like.npz (64x64)",
        "labels": LABELS,
        "decision": "argmax(log probs + logit_bias) at the operating point in config.yaml (val-chosen); figures below are at it",
        "operating_point": op, "gate": gate,
        "input_size": cfg["size"], "mean": mean, "std": std, "tta_flips_in_graph": True,
        "seeds": seeds, "config": cfg, "train_seconds": round(train_s, 1), "member_train_seconds": member_seconds,
        "torch_threads": args.threads,
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


def gate_thresholds(s_va):
    """ood_flag: the 99.5th percentile of the val scores (about 1 valid image in
    200 is flagged); ood_refuse: twice that."""
    flag = float(np.quantile(s_va, 0.995))
    return {"ood_flag": round(flag, 3), "ood_refuse": round(2 * flag, 3), "val_quantile": 0.995}


def export(model, out, data, size, mean, std, op, gate):
    import onnx
    vdir = os.path.join(out, "1")
    os.makedirs(vdir, exist_ok=True)
    path = os.path.join(vdir, "model.onnx")
    tmp = path + ".tmp"
    dummy = data["val"][0][:4]
    torch.onnx.export(model, dummy, tmp, input_names=["image"], output_names=["probs", "ood"],
                      dynamic_axes={"image": {0: "N"}, "probs": {0: "N"}, "ood": {0: "N"}}, opset_version=17,
                      do_constant_folding=True)
    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    x = data["val"][0][:37]
    with torch.no_grad():
        pt, ot = [t.numpy() for t in model(x)]
    res = onnx_numpy.run(tmp, {"image": x.numpy()})
    err = float(np.abs(pt - res["probs"]).max())
    oerr = float(np.abs(ot - res["ood"]).max() / max(1.0, np.abs(ot).max()))
    print(f"onnx check ok; max |torch - onnx| = {err:.2e} (probs), {oerr:.2e} (ood, relative) on {len(x)} images; size {os.path.getsize(tmp)} bytes")
    if err > 1e-4 or oerr > 1e-4:
        sys.exit("error: exported ONNX disagrees with torch")
    os.replace(tmp, path)
    with open(os.path.join(vdir, "config.yaml"), "w") as f:
        f.write(config_yaml(size, mean, std, op, gate))
    return path


def write_testdata(out, data, model, size):
    """One test image per class as a 64x64 RGB PNG and the torch outputs for
    them, so the Go side can assert decode+preprocess+ORT == torch."""
    from PIL import Image
    tdir = os.path.join(out, "testdata")
    os.makedirs(tdir, exist_ok=True)
    for f in os.listdir(tdir):
        if f.startswith("test_") and f.endswith(".png"):
            os.remove(os.path.join(tdir, f))
    x, y, raw = data["test"]
    idx = [int(np.where(y.numpy() == k)[0][0]) for k in range(K)] + [int(np.where(y.numpy() == 5)[0][1])]
    with torch.no_grad():
        p, o = model(x[idx])
    cases = []
    for k, i in enumerate(idx):
        name = f"test_{i:04d}_{LABELS[int(y[i])]}.png"
        Image.fromarray(raw[i]).save(os.path.join(tdir, name))
        cases.append({"file": name, "label": LABELS[int(y[i])], "probs": [round(float(v), 7) for v in p[k]],
                      "ood": round(float(o[k]), 5)})
    with open(os.path.join(tdir, "expected.json"), "w") as f:
        json.dump({"model": "dermatology", "version": "1", "labels": LABELS, "input_size": size, "tolerance": 1e-4,
                   "source": "dermamnist_like.npz test split (ISIC 2018 Task 3 test), index in the file name",
                   "cases": cases}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
