#!/usr/bin/env python3
"""Seeded, stratified train/val/test split of every real consultation set.

One split per source file serves every task (department routing, urgency
labels, records): a model is never trained or tuned on a key whose split is
`test`. Identical texts (after trimming) are one group and always land in the
same part, so a duplicate never leaks test into train. Stratified by the
source's label (xfyun: label; internal_medicine: department; cmtmedqa:
department): within each label, groups are shuffled with the seed and cut
70 / 10 / 20.

Writes eval/corpus/splits/<source>.tsv (key, sha8, split). Keys are those
of models/triage/label_sample.py; only keys and hashes are committed.

  /usr/bin/python3 models/triage/make_splits.py --data ../shared/data
"""
import argparse
import collections
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from label_sample import load, sha8  # noqa: E402

SEED = 20261204
PARTS = (("train", 0.70), ("val", 0.10), ("test", 0.20))
SOURCES = {"xf": "xfyun", "im": "internal_medicine", "cm": "cmtmedqa"}


def labels(data):
    import csv
    import json
    out = {}
    with open(os.path.join(data, "consultations", "xfyun_train.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            out["xf:%d" % i] = json.loads(line)["label"]
    for pre, name in (("im", "internal_medicine.csv"), ("cm", "cmtmedqa_dev.csv")):
        with open(os.path.join(data, "consultations", name), encoding="utf-8") as f:
            for i, r in enumerate(csv.DictReader(f)):
                out["%s:%d" % (pre, i)] = r["department"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("FENZHEN_DATA", "../shared/data"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "eval", "corpus", "splits"))
    a = ap.parse_args()
    rows = load(a.data)
    lab = labels(a.data)
    os.makedirs(a.out, exist_ok=True)
    for pre, name in SOURCES.items():
        src = [r for r in rows if r[0].startswith(pre + ":")]
        groups = collections.OrderedDict()
        for key, text, _ in src:
            groups.setdefault(text.strip(), []).append(key)
        by_label = collections.defaultdict(list)
        for text, keys in groups.items():
            by_label[lab[keys[0]]].append(keys)
        part_of = {}
        for label in sorted(by_label):
            gs = by_label[label]
            random.Random("%d/%s/%s" % (SEED, pre, label)).shuffle(gs)
            n, start = len(gs), 0
            for i, (part, share) in enumerate(PARTS):
                end = n if i == len(PARTS) - 1 else start + int(round(share * n))
                for keys in gs[start:end]:
                    for k in keys:
                        part_of[k] = part
                start = end
        path = os.path.join(a.out, name + ".tsv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# key\tsha8\tsplit  (models/triage/make_splits.py, seed %d; never train or tune on test)\n" % SEED)
            for key, text, _ in src:
                f.write("%s\t%s\t%s\n" % (key, sha8(text), part_of[key]))
        cnt = collections.Counter(part_of[k] for k, _, _ in src)
        print(name, dict(cnt), "groups", len(groups))


if __name__ == "__main__":
    main()
