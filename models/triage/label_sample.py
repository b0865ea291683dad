#!/usr/bin/env python3
"""Draw the real consultations that are labelled by hand (urgency, records).

Deterministic: the same data and seed give the same sample. Writes the cases
with their text to a git-ignored folder (default tmp/labelling/) for the
labellers to read; only keys, hashes and labels are ever committed, never
the consultation text (see ../shared/data/README.md for the licences).

A key names a row of a source file:
  xf:<n>  line n (0-based) of consultations/xfyun_train.jsonl, text field
  im:<n>  data row n (0-based) of consultations/internal_medicine.csv, title + '。' + ask
  cm:<n>  data row n (0-based) of consultations/cmtmedqa_dev.csv, text field
sha8 is the first 8 hex digits of sha256(text as UTF-8).

  /usr/bin/python3 models/triage/label_sample.py --data ../shared/data --out tmp/labelling
"""
import argparse
import csv
import hashlib
import json
import os
import random

SEED = 20261204
# Words that make a consultation likelier to be urgent; used only to choose
# the enriched sample (each case is still judged by reading it).
ENRICH = ["出血", "流血", "胸闷", "胸痛", "胸口", "突然", "孕", "呼吸困难", "喘不上", "抽搐", "抽筋", "昏",
          "意识", "高烧", "高热", "发烧", "血压", "晕倒", "吐血", "黑便", "剧痛", "疼得", "憋", "肿",
          "摔", "外伤", "婴儿", "宝宝", "新生儿", "胎动", "心慌", "呕吐", "便血", "麻木", "说话不清"]


def sha8(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def load(data):
    rows = []
    with open(os.path.join(data, "consultations", "xfyun_train.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            r = json.loads(line)
            rows.append(("xf:%d" % i, r["text"], r.get("age")))
    with open(os.path.join(data, "consultations", "internal_medicine.csv"), encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f)):
            rows.append(("im:%d" % i, r["title"] + "。" + r["ask"], None))
    with open(os.path.join(data, "consultations", "cmtmedqa_dev.csv"), encoding="utf-8") as f:
        for i, r in enumerate(csv.DictReader(f)):
            rows.append(("cm:%d" % i, r["text"], None))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("FENZHEN_DATA", "../shared/data"))
    ap.add_argument("--out", default="tmp/labelling")
    ap.add_argument("--random", type=int, default=640, help="cases drawn uniformly (per source: 60%% xf, 25%% im, 15%% cm)")
    ap.add_argument("--enriched", type=int, default=220, help="further cases drawn among texts with an ENRICH word")
    a = ap.parse_args()
    rows = load(a.data)
    rng = random.Random(SEED)
    by = {"xf": [], "im": [], "cm": []}
    for r in rows:
        by[r[0][:2]].append(r)
    # Dedupe by text so a case is never labelled twice.
    seen = set()
    chosen = []
    quota = {"xf": int(a.random * 0.60), "im": int(a.random * 0.25)}
    quota["cm"] = a.random - quota["xf"] - quota["im"]
    for src in ("xf", "im", "cm"):
        pool = by[src][:]
        rng.shuffle(pool)
        n = 0
        for r in pool:
            if n == quota[src]:
                break
            if r[1] in seen:
                continue
            seen.add(r[1])
            chosen.append(("random",) + r)
            n += 1
    pool = [r for r in rows if r[1] not in seen and any(w in r[1] for w in ENRICH)]
    rng.shuffle(pool)
    for r in pool[: a.enriched]:
        seen.add(r[1])
        chosen.append(("enriched",) + r)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "urgency_sample.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for sample, key, text, age in chosen:
            f.write(json.dumps({"key": key, "sha8": sha8(text), "sample": sample, "age": age, "text": text}, ensure_ascii=False) + "\n")
    print("wrote %d cases to %s" % (len(chosen), path))


if __name__ == "__main__":
    main()
