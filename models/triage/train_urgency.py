#!/usr/bin/python3
"""Train the triage urgency classifier and export it to ONNX.

The model reads the same feature indices as the department classifier
(triage.Featurizer through `triage/cmd/featurize`: KG symptoms present/absent,
named diseases, patient hints, hashed character 1-3-grams) and predicts one of four levels:
self_care, routine, urgent, emergency. The engine only lets it RAISE the
rules' level when it is confident (triage/urgency_model.go); red-flag rules
are never lowered.

Training texts are synthesised from the knowledge graph only (knowledge/kg):
- red-flag texts: each red flag's findings in random patient wordings (KG
  synonyms) with a patient that meets its age/sex/pregnancy/temperature
  constraints, told in the first or third person (我爸…, 宝宝两个月…);
- disease texts: symptoms drawn by KG frequency, as in train.py;
- partial texts: a red flag's findings without the combination it needs
  (血糖高 without 呕吐), so a finding alone is not taken for its flag;
- negated texts: a red-flag finding denied (没有胸痛) next to a routine
  complaint; mild texts: cold-like complaints said to be slight.
Each text is labelled by re-applying the KG red flags to the findings put
into it (and the disease's department for the base level). No vignette file
(triage/testdata/urgency_*.tsv) is ever read for training.

    /usr/bin/python3 models/triage/train_urgency.py

Outputs: models/triage-urgency/1/{model.onnx,config.yaml,metrics.json} and
triage/testdata/urgency_golden.jsonl (features + torch probabilities the Go
test compares against ONNX Runtime).
"""
import argparse
import os
import random
import sys
import tempfile

import numpy as np
import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pylib"))
from triage_common import (ROOT, IndexBag, Progress, featurize, go_tool, load_kg, padded, save_model,  # noqa: E402
                           seed_all, write_golden)

SEED = 20241205
LEVELS = ["self_care", "routine", "urgent", "emergency"]
RANK = {l: i for i, l in enumerate(LEVELS)}

# Mirrors triage/urgency.go: conditions an adult may watch at home.
SELF_CARE_DISEASES = {
    "upper_respiratory_infection", "acute_pharyngitis", "miliaria", "insect_bite_dermatitis",
    "functional_constipation", "tension_headache", "lumbar_strain", "acne_vulgaris", "dandruff",
    "dry_eye", "infant_colic", "herpes_labialis", "diaper_dermatitis",
}
MILD = ["runny_nose", "sneezing", "nasal_congestion", "sore_throat", "itchy_throat", "dry_cough", "cough",
        "throat_discomfort", "constipation", "headache", "insect_bite", "mouth_ulcer", "fatigue", "dry_skin"]
ACUTE_DEPTS = {"20", "28"}

OPENERS = ["", "", "", "医生，", "你好，", "大夫，", "急！", "请问，", "麻烦问一下，"]
CLOSERS = ["", "", "", "怎么办", "怎么办？", "要去医院吗", "需要马上去医院吗？", "严重吗", "挂什么科",
           "要不要紧", "能在家观察吗", "该怎么处理", "在线等"]
WHEN = ["", "", "", "突然", "刚才", "今天早上", "昨晚开始", "半小时前", "这两天", "一直", "最近"]
DURATIONS = ["", "", "", "两天", "三天", "一周", "半个月", "一个月", "好几个月", "半小时", "一个多小时", "一上午"]
JOINERS = ["，", "，", "，还", "，还有", "，而且", "，同时", "，伴有", "，然后", "。", "，人"]
NEG = ["没有", "不", "没", "也没有", "倒是没有"]
MILDNESS = ["有点", "稍微有点", "有一点", "轻微", "有些"]
ADULT_M = ["我爸", "我老公", "我哥", "我弟弟", "我儿子", "老公", "家里老头", "我同事", "我朋友"]
ADULT_F = ["我妈", "我老婆", "我姐", "我妹妹", "我女儿", "媳妇", "我同事", "我朋友"]
OLD_M = ["我爷爷", "我外公", "老爷子", "我爸", "家里老人", "老人家"]
OLD_F = ["我奶奶", "我外婆", "老太太", "我妈", "家里老人", "老人家"]


def patient(rng, age_range=(0, 90), sex="", pregnant=False, need=None):
    """Returns (opener text, attributes) for a patient meeting the
    constraints; need may hold age_max, age_min, sex, pregnant."""
    need = need or {}
    lo, hi = age_range
    if need.get("age_max"):
        hi = min(hi, need["age_max"])
    if need.get("age_min"):
        lo = max(lo, need["age_min"])
    hi = max(lo, min(hi, 92))
    sex = need.get("sex") or sex or rng.choice(["male", "female"])
    pregnant = pregnant or need.get("pregnant", False)
    if pregnant:
        sex, lo, hi = "female", max(lo, 18), max(18, min(hi, 42))
    age = rng.uniform(lo, hi)
    pt = {"age": age, "sex": sex, "pregnant": pregnant, "group": ""}
    if age < 1:
        pt["group"] = "infant"
        months = max(0, int(age * 12))
        if months == 0:
            days = max(3, int(age * 365))
            pt["age"] = days / 365
            t = rng.choice([f"出生{days}天的宝宝", f"刚出生{days}天的孩子", "新生儿", f"宝宝才{days}天，"])
        else:
            pt["age"] = months / 12
            t = rng.choice([f"{months}个月的宝宝", f"宝宝{months}个月，", f"{months}个多月的小孩", f"我家娃{months}个月，"])
        return t, pt
    if age < 14:
        pt["group"], pt["age"] = "child", int(age)
        kid = "儿子" if sex == "male" else "女儿"
        return rng.choice([f"孩子{int(age)}岁，", f"我{kid}{int(age)}岁，", f"{int(age)}岁的小孩", "我家孩子", "娃"]), pt
    if pregnant:
        w = rng.randint(6, 39)
        return rng.choice([f"怀孕{w}周，", f"我老婆怀孕{w}周了，", f"孕{w}周，", "怀孕了，"]), pt
    old = age >= 65
    pt["group"] = "elderly" if old else "adult"
    if rng.random() < 0.45:
        pool = (OLD_M if sex == "male" else OLD_F) if old else (ADULT_M if sex == "male" else ADULT_F)
        t = rng.choice(pool) + rng.choice(["", "", f"{int(age)}岁，", "他" if sex == "male" else "她"])
        if old and "老" not in t and rng.random() < 0.5:
            t = f"{int(age)}岁" + t
        return t, pt
    g = "男" if sex == "male" else "女"
    pt["age"] = -1 if rng.random() < 0.5 else int(age)
    if pt["age"] < 0:
        return rng.choice(["", "我", "本人"]), pt
    return rng.choice([f"我今年{int(age)}岁，", f"{g}，{int(age)}岁，", f"{int(age)}岁{g}性，"]), pt


def fires(rf, present, pt):
    if not rf.get("all") and not rf.get("any") and not rf.get("groups"):
        return False
    if any(s not in present for s in rf.get("all") or []):
        return False
    if rf.get("any") and not any(s in present for s in rf["any"]):
        return False
    if any(not any(s in present for s in g) for g in rf.get("groups") or []):
        return False
    age = pt.get("age", -1)
    if rf.get("age_max"):
        if age >= 0:
            if age > rf["age_max"]:
                return False
        elif not (rf["age_max"] >= 14 and pt.get("group") in ("infant", "child")):
            return False
    if rf.get("age_min"):
        if (age >= 0 and age < rf["age_min"]) or (age < 0 and pt.get("group") != "elderly"):
            return False
    if rf.get("sex") and pt.get("sex") and pt["sex"] != rf["sex"]:
        return False
    if rf.get("pregnant") and not pt.get("pregnant"):
        return False
    if rf.get("temp_min"):
        t = pt.get("temp", 0)
        if not (t >= rf["temp_min"] or (t == 0 and rf["temp_min"] <= 38 and "fever" in present)):
            return False
    return True


def label(flags, present, pt, base):
    lvl = RANK[base]
    for rf in flags:
        if fires(rf, present, pt):
            lvl = max(lvl, RANK[rf["urgency"]])
    return LEVELS[lvl]


def say(rng, syms, sid, mild=False):
    s = syms[sid]
    w = rng.choice([s["name"]] + list(s.get("synonyms") or []))
    if mild:
        w = rng.choice(MILDNESS) + w
    return w


def temp_text(rng, t):
    whole, frac = int(t), int(round((t - int(t)) * 10))
    return rng.choice([f"烧到{t:.1f}度", f"体温{t:.1f}", f"{whole}度{frac}" if frac else f"{whole}度",
                       f"发烧{t:.1f}", f"最高{t:.1f}℃"])


def compose(rng, who_text, parts, extra=""):
    text = rng.choice(WHEN) + parts[0]
    if rng.random() < 0.4:
        text += rng.choice(DURATIONS)
    for p in parts[1:]:
        text += rng.choice(JOINERS) + p
    if extra:
        text += "，" + extra
    return rng.choice(OPENERS) + who_text + text + rng.choice(["", "，"]) + rng.choice(CLOSERS)


def synth(rng, syms, diseases, flags, per_flag, per_disease, label_name):
    rows = []
    by_symptom = {}
    for d in diseases:
        for s in (d.get("symptoms") or {}):
            by_symptom.setdefault(s, []).append(d)
    flag_syms = sorted({s for rf in flags for s in (rf.get("all") or []) + (rf.get("any") or []) + sum(rf.get("groups") or [], [])
                        if s in syms})
    prog = Progress(label_name, len(flags) + len(diseases), "sources")

    def finish(who_text, present, pt, parts, base, src, negated=""):
        if pt.get("temp"):
            parts.insert(rng.randrange(len(parts) + 1), temp_text(rng, pt["temp"]))
        extra = ""
        if negated:
            extra = rng.choice(NEG) + say(rng, syms, negated)
        rows.append({"text": compose(rng, who_text, parts, extra), "label": "",
                     "level": label(flags, present, pt, base), "source": src})

    # Red-flag texts.
    for rf in flags:
        prog.add()
        need = {k: rf[k] for k in ("age_max", "age_min", "sex", "pregnant") if rf.get(k)}
        for _ in range(per_flag):
            chosen = [s for s in (rf.get("all") or []) if s in syms]
            anys = [s for s in (rf.get("any") or []) if s in syms]
            if anys:
                chosen.append(rng.choice(anys))
            for grp in rf.get("groups") or []:
                opts = [s for s in grp if s in syms]
                if opts:
                    chosen.append(rng.choice(opts))
            if not chosen:
                continue
            # Context: 0-2 symptoms of a disease that shares a finding.
            ctx = by_symptom.get(rng.choice(chosen)) or []
            if ctx and rng.random() < 0.7:
                d = rng.choice(ctx)
                extra = [s for s in (d.get("symptoms") or {}) if s in syms and s not in chosen]
                rng.shuffle(extra)
                chosen += extra[:rng.choice([0, 1, 1, 2])]
            # A third of the texts hold only part of the flag (its "all"
            # findings without any "any" one, or the reverse), labelled by
            # whatever still fires: the model must learn that the
            # combination matters (血糖高 alone is not 酮症酸中毒).
            if rng.random() < 0.33 and rf.get("all") and anys:
                drop = set(anys) if rng.random() < 0.5 else set(rf["all"])
                chosen = [s for s in chosen if s not in drop] or chosen
                need = {k: v for k, v in need.items()}
            rng.shuffle(chosen)
            who_text, pt = patient(rng, need=need)
            if rf.get("temp_min"):
                pt["temp"] = round(rng.uniform(rf["temp_min"], min(41.5, rf["temp_min"] + 1.5)), 1)
            parts = [say(rng, syms, s) for s in chosen]
            finish(who_text, set(chosen), pt, parts, "routine", "red_flag")
    # Disease texts, some with a denied red-flag finding.
    for d in diseases:
        prog.add()
        listed = [(k, v) for k, v in sorted((d.get("symptoms") or {}).items()) if k in syms]
        if not listed:
            continue
        base = "urgent" if d.get("department") in ACUTE_DEPTS else "routine"
        for _ in range(per_disease):
            k = min(len(listed), rng.choice([1, 2, 2, 3, 3, 4]))
            pool, chosen = list(listed), []
            while len(chosen) < k and pool:
                r = rng.uniform(0, sum(max(v, 0.05) for _, v in pool))
                for i, (sid, v) in enumerate(pool):
                    r -= max(v, 0.05)
                    if r <= 0:
                        chosen.append(sid)
                        pool.pop(i)
                        break
            age = tuple((d.get("age") or [0, 90])[:2])
            who_text, pt = patient(rng, age, d.get("sex") or "", d.get("department") == "05.02")
            b = base
            mild = False
            if d["id"] in SELF_CARE_DISEASES and pt["group"] in ("adult", "elderly", "") and rng.random() < 0.7:
                b, mild = "self_care", True
            if "fever" in chosen and rng.random() < 0.5:
                pt["temp"] = round(rng.uniform(37.3, 40.5), 1)
                if b == "self_care" and pt["temp"] >= 38.5:
                    b = "routine"
            parts = [say(rng, syms, s, mild and rng.random() < 0.6) for s in chosen]
            negated = ""
            if rng.random() < 0.3:
                cand = rng.choice(flag_syms)
                if cand not in chosen:
                    negated = cand
            finish(who_text, set(chosen), pt, parts, b, "disease", negated)
    # Mild complaints an adult can watch at home.
    for _ in range(per_disease * 30):
        chosen = rng.sample([m for m in MILD if m in syms], rng.choice([1, 2, 2, 3]))
        who_text, pt = patient(rng, (18, 60))
        parts = [say(rng, syms, s, rng.random() < 0.6) for s in chosen]
        negated = rng.choice(flag_syms) if rng.random() < 0.3 else ""
        finish(who_text, set(chosen), pt, parts, "self_care", "mild", negated)
    prog.finish()
    return rows


def evaluate(model, rows, width, vocab):
    if not rows:
        return {}
    model.eval()
    with torch.no_grad():
        p = model(torch.from_numpy(padded(rows, width, vocab))).numpy()
    y = np.array([RANK[r["level"]] for r in rows])
    pred = p.argmax(1)
    out = {"n": len(rows), "accuracy": round(float(np.mean(pred == y)), 4),
           "under": int(np.sum(pred < y)), "emergency_missed": int(np.sum((y == 3) & (pred < 3)))}
    out["recall"] = {l: round(float(np.mean(pred[y == i] == i)), 4) for i, l in enumerate(LEVELS) if np.any(y == i)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--per-flag", type=int, default=35)
    ap.add_argument("--per-disease", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "triage-urgency", "1"))
    args = ap.parse_args()

    seed_all(SEED)
    syms, diseases = load_kg()
    flags = yaml.safe_load(open(os.path.join(ROOT, "knowledge", "kg", "red_flags.yaml"), encoding="utf-8"))
    train = synth(random.Random(SEED), syms, diseases, flags, args.per_flag, args.per_disease, "synthesize train")
    val = synth(random.Random(SEED + 1), syms, diseases, flags, 6, 2, "synthesize val")
    with tempfile.TemporaryDirectory() as tmp:
        head = featurize(train + val, go_tool(tmp, "triage/cmd/featurize"))
    vocab, width = head["vocab"], head["width"]
    counts = {l: sum(r["level"] == l for r in train) for l in LEVELS}
    print(f"vocab={vocab} width={width} train={len(train)} {counts} val={len(val)}")

    y = torch.tensor([RANK[r["level"]] for r in train])
    # Balanced classes. No extra weight on emergency: the rules already
    # guarantee the known emergencies, and a model that may only raise
    # must above all be right when it does.
    cw = torch.tensor([len(train) / (4 * max(1, counts[l])) for l in LEVELS])
    model = IndexBag(vocab, args.hidden, [len(LEVELS)])
    opts = model.optimizers(2e-3)
    x_all = torch.from_numpy(padded(train, width, vocab))
    g = torch.Generator().manual_seed(SEED)
    best, best_state = -1.0, None
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=g)
        for i in range(0, len(train), 256):
            b = perm[i:i + 256]
            loss = torch.nn.functional.cross_entropy(model.logits(x_all[b])[0], y[b], weight=cw)
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()
        v = evaluate(model, val, width, vocab)
        print(f"epoch {ep + 1}: loss {loss.item():.4f} val acc {v['accuracy']:.4f} emergency missed {v['emergency_missed']}")
        if v["accuracy"] > best:
            best, best_state = v["accuracy"], {k: t.clone() for k, t in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    metrics = {"val_synthetic": evaluate(model, val, width, vocab), "train_rows": len(train), "train_levels": counts,
               "vocab": vocab, "width": width, "seed": SEED}
    print("val:", metrics["val_synthetic"])

    onnx_path = save_model(
        model, args.out, head, [("probs", len(LEVELS))], "triage-urgency",
        "# triage-urgency: urgency level classifier over the triage features (triage.Featurizer);\n"
        "# it may only raise the red-flag rules' level (see models/triage-urgency/MODEL_CARD.md).\n",
        LEVELS, metrics)
    gold = val[:: max(1, len(val) // 40)][:40]
    with torch.no_grad():
        probs = model(torch.from_numpy(padded(gold, width, vocab))).numpy()
    write_golden("urgency_golden.jsonl", [{"text": r["text"], "x": r["x"], "level": r["level"],
                                           "probs": [round(float(v), 6) for v in p]} for r, p in zip(gold, probs)])
    print("wrote", onnx_path)


if __name__ == "__main__":
    main()
