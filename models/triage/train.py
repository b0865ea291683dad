#!/usr/bin/python3
"""Train the triage department classifier and export it to ONNX.

Data (see MODEL_CARD.md):
  - real consultations, train part of the committed seeded split
    (eval/corpus/splits): xfyun_train.jsonl (20 visit directions),
    internal_medicine.csv, cmtmedqa_dev.csv, labels mapped to
    《医疗机构诊疗科目名录》 codes by eval/corpus/platform_labels.tsv;
  - texts synthesised from the embedded knowledge graph (knowledge/kg);
  - questions that name a disease of ../shared/data/kg/kg39_diseases.jsonl
    (14k names and aliases with their departments), so that a question
    naming a disease goes to its department. The kg39 text is never
    shipped; only the trained weights are.
The validation part picks the epoch; the test part is only scored.

Features come from the Go side (triage/cmd/featurize: the server's own
extractor and triage.Featurizer), so extraction and hashing are never
reimplemented here.

    /usr/bin/python3 models/triage/train.py                # train, export, write metrics
    FENZHEN_DATA=/data/fenzhen /usr/bin/python3 models/triage/train.py --epochs 10

Outputs: models/triage-department/1/{model.onnx,config.yaml,metrics.json} and
triage/testdata/department_golden.jsonl (indices + probabilities the Go
tests compare against).
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pylib"))
from triage_common import (ROOT, IndexBag, Progress, corpus, data_dir, featurize, go_tool, load_kg,  # noqa: E402
                           padded, save_model, seed_all, write_golden)

SEED = 20261204


# ---------------------------------------------------------------- synthetic
OPENERS = ["", "", "医生你好，", "医生，", "你好，", "请问，", "大夫您好，"]
CLOSERS = ["", "", "", "怎么办？", "请问挂什么科？", "需要去医院吗？", "是什么问题？", "该看哪个科？"]
DURATIONS = ["", "", "两天", "三天", "一周", "半个月", "一个月", "好几个月", "半年", "2天", "5天", "十来天"]
JOINERS = ["，", "，还", "，伴有", "，而且", "，同时", "，有时候"]
NEG = ["没有", "不", "无", "也没有"]


def phrase(rng, s):
    return rng.choice([s["name"]] + list(s.get("synonyms") or []))


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
    """Complaint texts drawn from each KG disease's symptoms."""
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


# Questions about a named disease, as online consultations ask them.
NAMED = ["{n}能治好吗？", "{n}挂什么科？", "得了{n}怎么办", "{n}吃什么药好", "{n}严重吗", "我有{n}，平时要注意什么？",
         "{n}会遗传吗", "{n}需要做手术吗", "确诊{n}了，怎么治疗", "{n}复查要查什么", "{n}饮食要注意什么", "医生说是{n}，要紧吗",
         "{n}能根治吗？", "{n}吃了药还是不好怎么办", "孩子{n}怎么办", "{n}会传染吗"]


def kg39_named(rng, kg, per=2):
    """Texts naming a kg39 disease (or alias), labelled with its department:
    the deepest listed department the KG maps (内科 / 消化内科 → 03.02)."""
    path = os.path.join(data_dir(), "kg", "kg39_diseases.jsonl")
    if not os.path.exists(path):
        print("no kg39 data at", path, "- training without disease-name questions")
        return []
    alias = {}
    for d in kg["departments"]:
        for a in [d["name"]] + list(d.get("aliases") or []):
            alias.setdefault(a, d["code"])
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            codes = [alias[x] for x in d.get("department") or [] if x in alias]
            if not codes:
                continue
            code = codes[0]
            for c in codes[1:]:
                if c.startswith(code + "."):
                    code = c
            names = [d["name"]] + [a for a in d.get("alias") or [] if 2 <= len(a) <= 12]
            for _ in range(per):
                n = rng.choice(names)
                rows.append({"text": rng.choice(NAMED).format(n=n), "label": code, "source": "kg39"})
    return rows


def load_departments():
    import yaml
    with open(os.path.join(ROOT, "knowledge", "kg", "departments.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


# ------------------------------------------------------------ evaluation
def evaluate(model, rows, width, pad, labels, parent):
    """Top-1/top-3 of the classifier alone, a prediction matching when it is
    the expected code or one of its sub-departments; per-code recall."""
    if not rows:
        return {}
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(torch.from_numpy(padded(rows[i:i + 512], width, pad))) for i in range(0, len(rows), 512)]).numpy()
    order = np.argsort(-p, axis=1)
    ok1 = ok3 = 0
    per = {}
    for i, r in enumerate(rows):
        want = r["code"]
        preds = [labels[j] for j in order[i, :3]]
        hit = [c == want or parent.get(c) == want for c in preds]
        ok1 += hit[0]
        ok3 += any(hit)
        e = per.setdefault(want, [0, 0])
        e[0] += hit[0]
        e[1] += 1
    return {"n": len(rows), "top1": round(ok1 / len(rows), 4), "top3": round(ok3 / len(rows), 4),
            "recall": {c: {"recall": round(a / n, 4), "n": n} for c, (a, n) in sorted(per.items())}}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--per-disease", type=int, default=25, help="synthetic texts per KG disease")
    ap.add_argument("--kg39-per-disease", type=int, default=2, help="disease-name questions per kg39 disease")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--feature-dropout", type=float, default=0.0, help="share of input features dropped per training row")
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "triage-department", "1"))
    args = ap.parse_args()

    seed_all(SEED)
    torch.set_num_threads(args.threads)
    rng = random.Random(SEED)
    t0 = time.time()

    syms, diseases = load_kg()
    depts = load_departments()
    parent = {d["code"]: d.get("parent_code") or None for d in depts}
    syn_train = synth(rng, syms, diseases, args.per_disease, "synthesize train")
    named = kg39_named(rng, {"departments": depts}, args.kg39_per_disease)
    real = []
    for src in ("xfyun", "internal_medicine", "cmtmedqa"):
        real += [dict(r, label=r["dept"]) for r in corpus(src) if r["dept"]]
    with tempfile.TemporaryDirectory() as tmp:
        tool = go_tool(tmp, "triage/cmd/featurize")
        head = featurize(syn_train + named + real, tool)
    vocab, width = head["vocab"], head["width"]
    part = {s: [r for r in real if r["split"] == s] for s in ("train", "val", "test")}
    train = [r for r in syn_train + named if r["code"]] + part["train"]
    labels = sorted({r["code"] for r in train} | {r["code"] for r in real})
    idx = {c: i for i, c in enumerate(labels)}
    print(f"vocab={vocab} width={width} classes={len(labels)} train={len(train)} (kg {len(syn_train)}, kg39 {len(named)}, "
          f"real {len(part['train'])}) val={len(part['val'])} test={len(part['test'])}")

    x_all = torch.from_numpy(padded(train, width, vocab))
    y = torch.tensor([idx[r["code"]] for r in train])
    # Real consultations are the distribution served: they weigh most.
    weight = {"kg": 0.5, "kg39": 0.3}
    w = torch.tensor([weight.get(r["source"], 2.0) for r in train])
    model = IndexBag(vocab, args.hidden, [len(labels)])
    model.feature_dropout = args.feature_dropout
    opts = model.optimizers(args.lr)
    bs = 128
    steps = args.epochs * ((len(train) + bs - 1) // bs)
    # Linear warm-up over the first 10 % of steps, then linear decay to 0.
    warm = max(1, steps // 10)
    sched = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))) for o in opts]
    g = torch.Generator().manual_seed(SEED)
    best, best_state, best_ep = -1.0, None, 0
    val_real = part["val"]
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g)
        prog = Progress(f"epoch {ep + 1}/{args.epochs}", len(train), "rows")
        for i in range(0, len(train), bs):
            b = perm[i:i + bs]
            loss = (torch.nn.functional.cross_entropy(model.logits(x_all[b])[0], y[b], reduction="none", label_smoothing=0.05) * w[b]).mean()
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o, sc in zip(opts, sched):
                o.step()
                sc.step()
            prog.add(len(b))
        prog.finish()
        v = evaluate(model, val_real, width, vocab, labels, parent)
        vx = evaluate(model, [r for r in val_real if r["source"] == "xfyun"], width, vocab, labels, parent)
        print(f"epoch {ep + 1}: loss {loss.item():.4f} val top1 {v['top1']:.4f} top3 {v['top3']:.4f} (xfyun {vx['top1']:.4f} / {vx['top3']:.4f})")
        if v["top1"] > best:
            best, best_ep = v["top1"], ep + 1
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    metrics = {"classes": len(labels), "vocab": vocab, "width": width, "train_rows": len(train), "seed": SEED,
               "epoch": best_ep, "train_seconds": round(time.time() - t0)}
    for s in ("val", "test"):
        metrics[s] = evaluate(model, part[s], width, vocab, labels, parent)
        for src in ("xfyun", "internal_medicine", "cmtmedqa"):
            metrics[f"{s}_{src}"] = evaluate(model, [r for r in part[s] if r["source"] == src], width, vocab, labels, parent)
    # Only the validation figures are printed while developing; the test
    # part is written to metrics.json for the model card, scored once.
    for k in sorted(metrics):
        if k.startswith("val") and isinstance(metrics[k], dict) and "top1" in metrics[k]:
            print(f"{k}: n={metrics[k]['n']} top1={metrics[k]['top1']} top3={metrics[k]['top3']}")

    onnx_path = save_model(
        model, args.out, head, [("probs", len(labels))], "triage-department",
        "# triage-department: department classifier over the triage feature indices (KG symptoms, named\n"
        "# diseases, patient, character n-grams; see models/triage/MODEL_CARD.md and triage.Featurizer).\n",
        labels, metrics, queue_delay="250us")

    # Golden rows for the Go tests: synthetic texts only (no shared data in
    # the repository), the exact indices used here and torch's output.
    gold = [r for r in syn_train if r["code"]][:: max(1, len(syn_train) // 40)][:40]
    with torch.no_grad():
        probs = model(torch.from_numpy(padded(gold, width, vocab))).numpy()
    write_golden("department_golden.jsonl", [{"text": r["text"], "x": r["x"], "code": r["code"],
                                              "probs": [round(float(v), 6) for v in p]} for r, p in zip(gold, probs)])
    print("wrote", onnx_path, f"in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
