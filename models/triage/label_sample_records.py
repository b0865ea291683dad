#!/usr/bin/env python3
"""Draw the real consultations that reference records (预问诊病历) are written for.

Deterministic: the same data and seed give the same sample. Writes the drawn
cases with their text to a git-ignored folder (default tmp/labelling/) for the
labeller to read; only keys, hashes and the hand-written records are ever
committed (models/triage/labels/records_ref.jsonl), never the text (see
../shared/data/README.md for the licences). Rules: docs/labelling/records.md.

Keys (as in models/triage/label_sample.py, plus DXY):
  xf:<n>   line n (0-based) of consultations/xfyun_train.jsonl, text field
  im:<n>   data row n (0-based) of consultations/internal_medicine.csv, title + '。' + ask
  cm:<n>   data row n (0-based) of consultations/cmtmedqa_dev.csv, text field
  dxy:<n>  line n (0-based) of diagnosis/dxy_train.jsonl, self_report field
sha8 is the first 8 hex digits of sha256(text as UTF-8).

Each source is shuffled with the seed and walked in that order. A case is
taken unless its text repeats one already taken or the labeller, on reading
it, found that no record makes sense (SKIP below, with the reason); skipped
keys are printed and written to records_skipped.tsv, never dropped silently.

  /usr/bin/python3 models/triage/label_sample_records.py --data ../shared/data --out tmp/labelling
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from label_sample import load, sha8  # noqa: E402

SEED = 20261205
# Share of each source in the sample: xfyun 40 %, internal_medicine 25 %,
# cmtmedqa 15 %, DXY 20 %.
SHARE = (("xf", 0.40), ("im", 0.25), ("cm", 0.15), ("dxy", 0.20))

# Keys read by the labeller and left out because the text describes no health
# complaint of the patient for which a record makes sense. Reason after the key.
SKIP = {
    "xf:6020": "no complaint, finding or time stated; only asks how to treat 甲状腺",
    "im:1213": "which-hospital question about a villager (not the reporter or family); text garbled",
    "im:7042": "general question on early symptoms of hepatitis; no patient",
    "im:6094": "general question on causes of partial epilepsy; no patient",
    "im:3525": "general question on hypertension and the kidney; no complaint, finding or time of the patient",
    "im:1883": "general question on delivery mode for HBV carriers; no patient complaint",
    "im:6369": "general question on telling ocular migraine from epilepsy; no patient",
    "cm:212": "general question on types of neurofibromatosis; no complaint",
    "cm:153": "asks what 斜眼抑制 means; no complaint of the patient stated",
    "cm:260": "newborn feeding posture (health education); no complaint",
    "cm:168": "cosmetic rhinoplasty cost question; no health complaint",
    "cm:57": "general question on walking with a rib fracture; no patient or time stated",
    "cm:297": "aftercare for infant vaccination (health education); no complaint",
    "cm:443": "fleas on a pet dog; not a health complaint of a person",
    "cm:495": "hypothetical COVID re-positivity; no current complaint",
}


def load_all(data):
    rows = [(k, t) for k, t, _ in load(data)]
    with open(os.path.join(data, "diagnosis", "dxy_train.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            rows.append(("dxy:%d" % i, json.loads(line)["self_report"]))
    return rows


def splits(here):
    out = {}
    d = os.path.join(here, "splits")
    for name in ("xfyun.tsv", "internal_medicine.tsv", "cmtmedqa.tsv"):
        p = os.path.join(d, name)
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                k, _, s = line.rstrip("\n").split("\t")
                out[k] = s
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("FENZHEN_DATA", "../shared/data"))
    ap.add_argument("--out", default="tmp/labelling")
    ap.add_argument("--n", type=int, default=80, help="records to draw in all")
    ap.add_argument("--preview", type=int, default=0,
                    help="also write the next N candidates of each source (records_candidates.jsonl) for reading")
    a = ap.parse_args()
    rows = load_all(a.data)
    split = splits(os.path.dirname(os.path.abspath(__file__)))
    by = {s: [] for s, _ in SHARE}
    for k, t in rows:
        by[k.split(":")[0]].append((k, t))
    quota = {s: int(round(a.n * p)) for s, p in SHARE}
    quota["xf"] += a.n - sum(quota.values())
    rng = random.Random(SEED)
    seen = set()
    chosen, skipped, cand = [], [], []
    for src, _ in SHARE:
        pool = by[src][:]
        rng.shuffle(pool)
        n = 0
        extra = 0
        for k, t in pool:
            if n == quota[src]:
                if extra < a.preview and t.strip() not in seen:
                    cand.append((k, t))
                    extra += 1
                    continue
                break
            if t.strip() in seen:
                skipped.append((k, sha8(t), "duplicate text"))
                continue
            if k in SKIP:
                skipped.append((k, sha8(t), SKIP[k]))
                continue
            seen.add(t.strip())
            chosen.append((k, t))
            n += 1
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "records_sample.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for k, t in chosen:
            f.write(json.dumps({"key": k, "sha8": sha8(t), "split": split.get(k, ""), "text": t}, ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "records_skipped.tsv"), "w", encoding="utf-8") as f:
        f.write("key\tsha8\treason\n")
        for k, h, r in skipped:
            f.write("%s\t%s\t%s\n" % (k, h, r))
    if a.preview:
        with open(os.path.join(a.out, "records_candidates.jsonl"), "w", encoding="utf-8") as f:
            for k, t in cand:
                f.write(json.dumps({"key": k, "sha8": sha8(t), "text": t}, ensure_ascii=False) + "\n")
    counts = {s: sum(1 for k, _ in chosen if k.startswith(s + ":")) for s, _ in SHARE}
    print("wrote %d cases to %s (%s)" % (len(chosen), path, ", ".join("%s %d" % kv for kv in counts.items())))
    for k, h, r in skipped:
        print("skipped %s %s: %s" % (k, h, r))


if __name__ == "__main__":
    main()
