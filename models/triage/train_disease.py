#!/usr/bin/python3
"""Train the triage disease ranker and export it to ONNX.

The ranker reads the same feature indices as the department classifier
(triage.Featurizer: KG symptoms present/absent, named diseases, patient
hints, hashed character n-grams) and has two outputs:

  probs  P(disease) over every KG disease id (softmax);
  ask    P(the patient would report symptom s if asked | evidence so far),
         one sigmoid per KG symptom — the interview asks what can be answered.

Data:
  * texts synthesised from the embedded KG (models/triage/train.py's
    generator), 25 per disease, label = the KG disease;
  * the train part of the DXY and Muzhi diagnosis files
    ($FENZHEN_DATA/diagnosis); their split, the KG disease each label trains
    as, and the symptoms known before any question come from
    `go run ./triage/cmd/rankerdata` (the server's own code). Each record
    is seen with its explicit evidence plus random subsets of its implicit
    symptoms, as after some answered questions.

The val part selects the epoch; the test part is never read here.

    /usr/bin/python3 models/triage/train_disease.py       # ≈3–4 min on one CPU thread

Outputs: models/triage-disease/1/{model.onnx,config.yaml,metrics.json} and
triage/testdata/disease_golden.jsonl (synthetic texts with extra evidence,
the feature indices used here and torch's outputs, for the Go tests).
Progress goes to stderr.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pylib"))
import train as dept  # noqa: E402  (the KG text generator)
from triage_common import (ROOT, IndexBag, Progress, data_dir, featurize, go_tool, load_kg, save_model,  # noqa: E402
                           seed_all, write_golden)

SEED = 20241123
OUT = os.path.join(ROOT, "models", "triage-disease", "1")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def synth_rows(syms, diseases, per, seed, label):
    """KG texts with the disease id as label (train.py's generator labels
    departments; rows come out disease by disease, skipping diseases
    without symptoms, so the ids are restored in the same order)."""
    rows = dept.synth(random.Random(seed), syms, diseases, per, label)
    ids = []
    for d in diseases:
        if [k for k in (d.get("symptoms") or {}) if k in syms]:
            ids += [d["id"]] * per
    assert len(ids) == len(rows)
    for r, i in zip(rows, ids):
        r["disease"] = i
    return rows


class Layout:
    """Index arithmetic of triage.Featurizer (symptom present at i, absent
    at S+i, named diseases, patient and n-grams from 2S on; sorted, without
    repeats, cut at width, padded with vocab). TestDiseaseFeaturesMatchTraining
    checks that Go computes the same indices."""

    def __init__(self, head):
        self.vocab = head["vocab"]
        self.width = head["width"]
        self.syms = head["symptoms"]
        self.S = len(self.syms)
        self.idx = {s: i for i, s in enumerate(self.syms)}

    def compose(self, patient, state):
        x = [i for i in patient or [] if i >= 2 * self.S]
        for s, v in state.items():
            i = self.idx[s]
            x.append(i if v == "present" else self.S + i)
        return sorted(set(x))[:self.width]

    def state_of(self, x):
        st = {}
        for i in x:
            if i < self.S:
                st[self.syms[i]] = "present"
            elif i < 2 * self.S:
                st[self.syms[i - self.S]] = "absent"
        return st

    def pad(self, xs):
        m = np.full((len(xs), self.width), self.vocab, dtype=np.int64)
        for i, x in enumerate(xs):
            m[i, :len(x)] = x[:self.width]
        return m


def benchmark_rows(records, lay, variants, rng):
    """Training rows from benchmark records: evidence before questions plus
    a random subset of the implicit answers; ask targets are the implicit
    symptoms not yet in the evidence."""
    rows = []
    for r in records:
        imp = sorted(k for k in r["implicit"] if k not in r["state"])
        for v in range(variants):
            if v == 0:
                keep = []
            elif v == 1:
                keep = list(imp)
            else:
                p = rng.random()
                keep = [k for k in imp if rng.random() < p]
            st = dict(r["state"])
            for k in keep:
                st[k] = r["implicit"][k]
            rest = [k for k in imp if k not in keep]
            rows.append({"x": lay.compose(r["patient"], st), "disease": r["disease"], "source": r["set"],
                         "ask_pos": [lay.idx[k] for k in rest], "ask_mask": [lay.idx[k] for k in st]})
    return rows


def kg_ask(rows, lay, kgsym):
    """Soft ask targets for KG texts: the disease's listed frequency for
    every listed symptom the text does not state."""
    for r in rows:
        st = lay.state_of(r["x"])
        r["ask_soft"] = {lay.idx[k]: f for k, f in kgsym[r["disease"]].items() if k in lay.idx and k not in st}
        r["ask_mask"] = [lay.idx[k] for k in st]


def batch_targets(rows, lay):
    n = len(rows)
    t = np.zeros((n, lay.S), dtype=np.float32)
    m = np.ones((n, lay.S), dtype=np.float32)
    for i, r in enumerate(rows):
        if "ask_soft" in r:
            for j, f in r["ask_soft"].items():
                t[i, j] = f
        else:
            t[i, r["ask_pos"]] = 1.0
        m[i, r["ask_mask"]] = 0.0
    return torch.from_numpy(t), torch.from_numpy(m)


def predict(model, xs, lay, bs=512):
    model.eval()
    ps, asks = [], []
    with torch.no_grad():
        for i in range(0, len(xs), bs):
            p, a = model(torch.from_numpy(lay.pad(xs[i:i + bs])))
            ps.append(p.numpy())
            asks.append(a.numpy())
    return np.concatenate(ps), np.concatenate(asks)


def bench_eval(model, records, lay, labels, label_ids):
    """Top-1 among the set's benchmark labels, with the evidence before any
    question (explicit) and with every implicit answer added (full, an
    upper bound for the interview); ask@5: share of implicit symptoms
    among the 5 highest ask scores."""
    out = {}
    pos = {d: i for i, d in enumerate(labels)}
    for s in ("dxy", "mz"):
        rs = [r for r in records if r["set"] == s]
        if not rs:
            continue
        cands = sorted({r["disease"] for r in rs})
        ci = [pos[c] for c in cands]
        res = {"n": len(rs)}
        for mode in ("explicit", "full"):
            xs = []
            for r in rs:
                st = dict(r["state"])
                if mode == "full":
                    for k, v in r["implicit"].items():
                        st.setdefault(k, v)
                xs.append(lay.compose(r["patient"], st))
            p, a = predict(model, xs, lay)
            pred = [cands[int(np.argmax(p[i, ci]))] for i in range(len(rs))]
            res[mode] = round(float(np.mean([pr == r["disease"] for pr, r in zip(pred, rs)])), 4)
            if mode == "explicit":
                hit, tot = 0, 0
                for i, r in enumerate(rs):
                    imp = [k for k in r["implicit"] if k not in r["state"]]
                    if not imp:
                        continue
                    sc = a[i].copy()
                    for k in r["state"]:
                        sc[lay.idx[k]] = -1
                    top = set(np.argsort(-sc)[:5].tolist())
                    hit += sum(1 for k in imp if lay.idx[k] in top)
                    tot += len(imp)
                res["implicit_in_top5_ask"] = round(hit / max(tot, 1), 4)
        out[s] = res
    return out


def kg_eval(model, rows, lay, labels):
    pos = {d: i for i, d in enumerate(labels)}
    p, _ = predict(model, [r["x"] for r in rows], lay)
    y = np.array([pos[r["disease"]] for r in rows])
    order = np.argsort(-p, axis=1)
    return {"n": len(rows), "top1": round(float(np.mean(order[:, 0] == y)), 4),
            "top3": round(float(np.mean([y[i] in order[i, :3] for i in range(len(y))])), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--per-disease", type=int, default=25)
    ap.add_argument("--variants", type=int, default=10, help="training rows per benchmark record")
    ap.add_argument("--bench-weight", type=float, default=1.0, help="loss weight of benchmark rows")
    ap.add_argument("--ask-weight", type=float, default=1.0, help="loss weight of the ask head")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--feature-dropout", type=float, default=0.3, help="share of input features dropped per training row")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    seed_all(SEED)
    rng = random.Random(SEED)

    syms, diseases = load_kg()
    kgsym = {d["id"]: dict(d.get("symptoms") or {}) for d in diseases}
    with tempfile.TemporaryDirectory() as tmp:
        rd, ft = go_tool(tmp, "triage/cmd/rankerdata"), go_tool(tmp, "triage/cmd/featurize")
        log("reading the diagnosis records through triage/cmd/rankerdata")
        res = subprocess.run([rd, "--data", data_dir()], capture_output=True, check=True, cwd=ROOT)
        lines = res.stdout.decode("utf-8").splitlines()
        records = [json.loads(l) for l in lines[1:]]
        syn_train = synth_rows(syms, diseases, args.per_disease, SEED, "synthesize train")
        syn_test = synth_rows(syms, diseases, 5, SEED + 1, "synthesize test")
        syn_val = synth_rows(syms, diseases, 2, SEED + 3, "synthesize val")
        head = featurize(syn_train + syn_test + syn_val, ft)
        lay = Layout(head)
    kg_ask(syn_train, lay, kgsym)

    labels = sorted({d["id"] for d in diseases if d.get("symptoms")})
    pos = {d: i for i, d in enumerate(labels)}
    part = {k: [r for r in records if r["split"] == k] for k in ("train", "val", "test")}
    bench_train = benchmark_rows(part["train"], lay, args.variants, rng)
    train = syn_train + bench_train
    log(f"vocab={lay.vocab} width={lay.width} diseases={len(labels)} symptoms={lay.S} train rows={len(train)} "
        f"(kg {len(syn_train)}, benchmark {len(bench_train)} from {len(part['train'])} records) "
        f"val records={len(part['val'])} (test {len(part['test'])}: not read)")

    y = torch.tensor([pos[r["disease"]] for r in train])
    w = torch.tensor([1.0 if "source" in r and r["source"] == "kg" else args.bench_weight for r in train])
    model = IndexBag(lay.vocab, args.hidden, [len(labels), lay.S], second_sigmoid=True)
    model.feature_dropout = args.feature_dropout
    opts = model.optimizers(args.lr)
    bs = 128
    steps = args.epochs * ((len(train) + bs - 1) // bs)
    warm = max(1, steps // 10)
    sched = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))) for o in opts]
    g = torch.Generator().manual_seed(SEED)
    best, best_state, best_ep = -1.0, None, 0
    history = []
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g)
        prog = Progress(f"epoch {ep + 1}/{args.epochs}", len(train), "rows")
        for i in range(0, len(train), bs):
            b = perm[i:i + bs].tolist()
            rows = [train[j] for j in b]
            xb = torch.from_numpy(lay.pad([r["x"] for r in rows]))
            dl, al = model.logits(xb)
            t, m = batch_targets(rows, lay)
            ce = (torch.nn.functional.cross_entropy(dl, y[b], reduction="none") * w[b]).mean()
            bce = (torch.nn.functional.binary_cross_entropy_with_logits(al, t, reduction="none") * m).sum(1).mean()
            loss = ce + args.ask_weight * bce / 20
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o, sc in zip(opts, sched):
                o.step()
                sc.step()
            prog.add(len(b))
        prog.finish()
        v = bench_eval(model, part["val"], lay, labels, pos)
        # The ranker serves the benchmarks' children and every KG disease:
        # the epoch is chosen on both (benchmark val parts, KG texts of a
        # fresh seed), never on a test part.
        kv = kg_eval(model, syn_val, lay, labels)
        score = np.mean([v[s][k] for s in v for k in ("explicit", "full")]) + kv["top1"]
        history.append({"epoch": ep + 1, "val": v})
        log(f"epoch {ep + 1}: loss {loss.item():.4f} val {json.dumps(v)} kg val {kv['top1']} score {score:.4f}")
        if score > best:
            best, best_ep, best_state = score, ep + 1, {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    metrics = {
        "val": bench_eval(model, part["val"], lay, labels, pos),
        "kg_synthetic_test": kg_eval(model, syn_test, lay, labels),
        "best_epoch": best_ep, "history": history, "diseases": len(labels), "vocab": lay.vocab, "width": lay.width,
        "train_rows": len(train), "seed": SEED, "args": vars(args),
    }
    metrics["args"]["out"] = os.path.relpath(args.out, ROOT)
    log("final", json.dumps({k: metrics[k] for k in ("val", "kg_synthetic_test", "best_epoch")}))

    onnx_path = save_model(
        model, args.out, head, [("probs", len(labels)), ("ask", lay.S)], "triage-disease",
        "# triage-disease: disease ranker over the department classifier's features (triage.Featurizer);\n"
        "# probs = P(KG disease), ask = P(symptom would be reported | evidence). See ../MODEL_CARD.md.\n",
        labels, metrics)

    # Golden rows: synthetic texts only, each with a few answered symptoms
    # added the way benchmark rows are composed.
    grng = random.Random(SEED + 2)
    gold = syn_test[:: max(1, len(syn_test) // 30)][:30]
    for r in gold:
        st = lay.state_of(r["x"])
        for k in grng.sample(sorted(kgsym[r["disease"]]), min(2, len(kgsym[r["disease"]]))):
            if k in lay.idx and k not in st:
                st[k] = grng.choice(["present", "absent"])
        r["state"], r["gx"] = st, lay.compose(r["x"], st)
    p, a = predict(model, [r["gx"] for r in gold], lay)
    write_golden("disease_golden.jsonl", [
        {"text": r["text"], "state": r["state"], "x": r["gx"], "disease": r["disease"],
         "probs": [round(float(v), 6) for v in pi], "ask": [round(float(v), 6) for v in ai]}
        for r, pi, ai in zip(gold, p, a)], sort_keys=True)
    log("wrote", onnx_path)


if __name__ == "__main__":
    main()
