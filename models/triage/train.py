#!/usr/bin/python3
"""Train the triage department classifier and export it to ONNX.

Data: patient texts synthesised from the embedded knowledge graph
(knowledge/kg) plus the department-labelled consultations in
$FENZHEN_DATA/consultations. Features come from the Go side
(`triage/cmd/featurize`), so extraction and hashing are never reimplemented
here. Consultations are split 80/10/10 with a fixed seed; the test part is
only scored, never trained or tuned on.

    /usr/bin/python3 models/triage/train.py                 # train, export, write metrics
    FENZHEN_DATA=/data/fenzhen /usr/bin/python3 models/triage/train.py --epochs 12

Outputs: models/triage-department/1/{model.onnx,config.yaml,metrics.json} and
triage/testdata/department_golden.jsonl (features + probabilities the Go
tests compare against).
"""
import argparse
import csv
import os
import random
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from triage_common import (ROOT, Progress, data_dir, featurize, go_tool, load_kg, save_model,  # noqa: E402
                           seed_all, write_golden)

SEED = 20241123


# ---------------------------------------------------------------- synthetic
OPENERS = ["", "", "医生你好，", "医生，", "你好，", "请问，", "大夫您好，"]
CLOSERS = ["", "", "", "怎么办？", "请问挂什么科？", "需要去医院吗？", "是什么问题？", "该看哪个科？"]
DURATIONS = ["", "", "两天", "三天", "一周", "半个月", "一个月", "好几个月", "半年", "2天", "5天", "十来天"]
JOINERS = ["，", "，还", "，伴有", "，而且", "，同时", "，有时候"]
NEG = ["没有", "不", "无", "也没有"]


def phrase(rng, s):
    opts = [s["name"]] + list(s.get("synonyms") or [])
    return rng.choice(opts)


def who(rng, d):
    lo, hi = (d.get("age") or [0, 100])[:2]
    hi = min(hi, 90)
    age = rng.uniform(lo, max(lo, hi))
    sex = d.get("sex") or rng.choice(["male", "female"])
    if d.get("department") == "05.02":
        return f"怀孕{rng.randint(6, 39)}周，"
    if age < 1:
        return rng.choice([f"宝宝{max(1, int(age * 12))}个月，", f"{max(1, int(age * 12))}个月的宝宝", "宝宝"])
    if age < 14:
        kid = "男孩" if sex == "male" else "女孩"
        return rng.choice([f"孩子{int(age)}岁，", f"{int(age)}岁{kid}，", "我家孩子", "小孩"])
    g = "男" if sex == "male" else "女"
    return rng.choice(["", "", f"我今年{int(age)}岁，", f"{g}，{int(age)}岁，", f"本人{g}，"])


def synth(rng, syms, diseases, per, label="synthesize"):
    rows = []
    all_ids = list(syms)
    prog = Progress(label, len(diseases), "diseases")
    for d in diseases:
        prog.add()
        listed = [(k, v) for k, v in sorted((d.get("symptoms") or {}).items()) if k in syms]
        if not listed:
            continue
        for _ in range(per):
            k = min(len(listed), rng.choice([1, 2, 2, 3, 3, 4]))
            pool = list(listed)
            chosen = []
            while len(chosen) < k and pool:
                tot = sum(max(v, 0.05) for _, v in pool)
                r = rng.uniform(0, tot)
                for i, (sid, v) in enumerate(pool):
                    r -= max(v, 0.05)
                    if r <= 0:
                        chosen.append(sid)
                        pool.pop(i)
                        break
            parts = [phrase(rng, syms[s]) for s in chosen]
            text = parts[0] + rng.choice(DURATIONS)
            for p in parts[1:]:
                text += rng.choice(JOINERS) + p
            if rng.random() < 0.3:
                other = rng.choice(all_ids)
                if other not in d.get("symptoms", {}):
                    text += "，" + rng.choice(NEG) + syms[other]["name"]
            text = rng.choice(OPENERS) + who(rng, d) + text + rng.choice(CLOSERS)
            rows.append({"text": text, "label": d["department"], "source": "kg"})
    prog.finish()
    return rows


# ------------------------------------------------------------ consultations
def consultations():
    base = os.path.join(data_dir(), "consultations")
    rows = []
    p = os.path.join(base, "internal_medicine.csv")
    if not os.path.exists(p):
        sys.exit(f"no consultations at {base}: set FENZHEN_DATA")
    for r in csv.DictReader(open(p, encoding="utf-8")):
        rows.append({"text": (r["title"] + "。" + r["ask"])[:1000], "label": r["department"], "source": "internal_medicine"})
    for r in csv.DictReader(open(os.path.join(base, "cmtmedqa_dev.csv"), encoding="utf-8")):
        rows.append({"text": r["text"][:1000], "label": r["department"], "source": "cmtmedqa"})
    return rows


def split(rows, seed):
    """Seeded 80/10/10 per source, after dropping repeated texts (the
    source files hold exact duplicates, which would leak test into train)."""
    seen, uniq = set(), []
    for r in rows:
        if r["text"] not in seen:
            seen.add(r["text"])
            uniq.append(r)
    rows = uniq
    out = {"train": [], "val": [], "test": []}
    for src in sorted({r["source"] for r in rows}):
        part = [r for r in rows if r["source"] == src]
        random.Random(seed).shuffle(part)
        n = len(part)
        a, b = int(0.8 * n), int(0.9 * n)
        out["train"] += part[:a]
        out["val"] += part[a:b]
        out["test"] += part[b:]
    return out


# -------------------------------------------------------------- features
def dense(rows, dim):
    m = np.zeros((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        m[i, r["x"]] = 1.0
    return m


class Net(torch.nn.Module):
    def __init__(self, dim, k, hidden):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(hidden, k))

    def forward(self, x):
        return torch.softmax(self.body(x), dim=1)

    def logits(self, x):
        return self.body(x)


def evaluate(model, rows, dim, labels):
    if not rows:
        return {}
    model.eval()
    with torch.no_grad():
        p = model(torch.from_numpy(dense(rows, dim))).numpy()
    idx = {c: i for i, c in enumerate(labels)}
    y = np.array([idx[r["code"]] for r in rows])
    order = np.argsort(-p, axis=1)
    top1 = float(np.mean(order[:, 0] == y))
    top3 = float(np.mean([y[i] in order[i, :3] for i in range(len(y))]))
    recall = {}
    for c in sorted(set(r["code"] for r in rows)):
        m = y == idx[c]
        recall[c] = {"recall": round(float(np.mean(order[m, 0] == idx[c])), 4), "n": int(m.sum())}
    return {"n": len(rows), "top1": round(top1, 4), "top3": round(top3, 4), "recall": recall}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--per-disease", type=int, default=25, help="synthetic texts per KG disease")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "triage-department", "1"))
    ap.add_argument("--test-csv", help="also write the consultation test split (text,department,source) here, "
                    "outside the repository, for `fenzhen eval triage --data`")
    args = ap.parse_args()

    seed_all(SEED)
    rng = random.Random(SEED)

    syms, diseases = load_kg()
    syn_train = synth(rng, syms, diseases, args.per_disease, "synthesize train")
    syn_test = synth(random.Random(SEED + 1), syms, diseases, 5, "synthesize test")
    parts = split(consultations(), SEED)

    with tempfile.TemporaryDirectory() as tmp:
        tool = go_tool(tmp, "triage/cmd/featurize")
        all_rows = syn_train + syn_test + parts["train"] + parts["val"] + parts["test"]
        dim = featurize(all_rows, tool)
    unmapped = sorted({r["label"] for r in all_rows if not r["code"]})
    if unmapped:
        print("dropping rows with unmapped department labels:", unmapped)
    keep = lambda rs: [r for r in rs if r["code"]]
    syn_train, syn_test = keep(syn_train), keep(syn_test)
    for k in parts:
        parts[k] = keep(parts[k])
    labels = sorted({r["code"] for r in syn_train + parts["train"]})
    # Val/test rows whose department never appears in training cannot be
    # predicted; they stay in (counted wrong) so the figures stay honest.
    for rs in (syn_test, parts["val"], parts["test"]):
        for r in rs:
            if r["code"] not in labels:
                labels.append(r["code"])
    labels = sorted(labels)
    idx = {c: i for i, c in enumerate(labels)}
    train = syn_train + parts["train"]
    print(f"dim={dim} classes={len(labels)} train={len(train)} (kg {len(syn_train)}, consult {len(parts['train'])}) "
          f"val={len(parts['val'])} test={len(parts['test'])} kg_test={len(syn_test)}")

    y = torch.tensor([idx[r["code"]] for r in train])
    # Real consultations count twice: they are the distribution served.
    w = torch.tensor([1.0 if r["source"] == "kg" else 2.0 for r in train])
    model = Net(dim, len(labels), args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-5)
    best, best_state = -1.0, None
    g = torch.Generator().manual_seed(SEED)
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g)
        prog = Progress(f"epoch {ep + 1}/{args.epochs}", len(train), "rows")
        for i in range(0, len(train), 256):
            b = perm[i:i + 256]
            xb = torch.from_numpy(dense([train[j] for j in b.tolist()], dim))
            loss = (torch.nn.functional.cross_entropy(model.logits(xb), y[b], reduction="none") * w[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            prog.add(len(b))
        prog.finish()
        v = evaluate(model, parts["val"], dim, labels)
        print(f"epoch {ep + 1}: loss {loss.item():.4f} val top1 {v['top1']:.4f} top3 {v['top3']:.4f}")
        if v["top1"] > best:
            best, best_state = v["top1"], {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    metrics = {
        "val": evaluate(model, parts["val"], dim, labels),
        "test": evaluate(model, parts["test"], dim, labels),
        "test_internal_medicine": evaluate(model, [r for r in parts["test"] if r["source"] == "internal_medicine"], dim, labels),
        "test_cmtmedqa": evaluate(model, [r for r in parts["test"] if r["source"] == "cmtmedqa"], dim, labels),
        "kg_synthetic_test": evaluate(model, syn_test, dim, labels),
        "classes": len(labels), "features": dim, "train_rows": len(train), "seed": SEED,
    }
    for k in ("val", "test", "test_internal_medicine", "test_cmtmedqa", "kg_synthetic_test"):
        print(f"{k}: n={metrics[k]['n']} top1={metrics[k]['top1']} top3={metrics[k]['top3']}")

    if args.test_csv:
        with open(args.test_csv, "w", encoding="utf-8", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["text", "department", "source"])
            for r in parts["test"]:
                wr.writerow([r["text"], r["code"], r["source"]])
    onnx_path = save_model(
        model, args.out, dim, [("probs", len(labels))], "triage-department",
        "# triage-department: department classifier over KG symptom indicators + hashed\n"
        "# character n-grams (see models/triage/MODEL_CARD.md; features from triage.Featurizer).\n",
        labels, metrics, queue_delay="250us")

    # Golden rows for the Go tests: synthetic texts only (no shared data
    # in the repository), the exact indices used here and torch's output.
    gold = syn_test[:: max(1, len(syn_test) // 40)][:40]
    with torch.no_grad():
        probs = model(torch.from_numpy(dense(gold, dim))).numpy()
    write_golden("department_golden.jsonl", [{"text": r["text"], "x": r["x"], "code": r["code"],
                                              "probs": [round(float(v), 6) for v in p]} for r, p in zip(gold, probs)])
    print("wrote", onnx_path)


if __name__ == "__main__":
    main()
