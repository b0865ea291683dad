"""FastAPI + jieba + PyTorch peer for `fenzhen bench --workload triage`.

The triage pipeline a team would write in Python instead of Fenzhen: jieba
segmentation with the knowledge graph's colloquial synonyms as a user
dictionary, a negation look-back, the triage feature indices (symptoms,
patient, character 1-3-gram FNV-1a buckets, as triage.Featurizer), the three
committed triage heads (department, disease ranker with its ask head,
urgency) in PyTorch, a naive-Bayes posterior over the KG diseases, the red
flags, and the next question by expected information gain over the top
candidates. It answers the same JSON shape for the benchmark; it is not
Fenzhen's extractor (no duration, severity, context or vitals), so it does
less work per request than the server it is compared with.

The models are the training code's IndexBag (models/pylib/triage_common.py)
loaded with the weights of the committed ONNX files (there is no torch
checkpoint in the repository). One request at a time, uvicorn with one
worker and FENZHEN_BASELINE_THREADS torch threads (2).

    /usr/bin/python3 -m uvicorn --app-dir bench/fastapi triage_server:app --port 9101
Needs Debian python3-fastapi, uvicorn, python3-torch, python3-onnx,
python3-jieba, python3-yaml (deploy/setup-debian.sh).
"""
import glob
import logging
import os
import sys

import jieba
import numpy as np
import onnx
import torch
import yaml
from fastapi import FastAPI, HTTPException, Request
from onnx import numpy_helper

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "models", "pylib"))
from triage_common import IndexBag  # noqa: E402  the models' definition

torch.set_num_threads(int(os.environ.get("FENZHEN_BASELINE_THREADS", "2")))
jieba.setLogLevel(logging.WARNING)

NGRAM_BUCKETS = 1 << 15
WIDTH = 512
MAX_GRAM_RUNES = 400
NEGATIONS = ("不", "没", "没有", "无", "未", "否认", "不是")
LEAK = 0.01
CANDIDATES = 40


def load_kg():
    kgdir = os.path.join(ROOT, "knowledge", "kg")
    with open(os.path.join(kgdir, "symptoms.yaml"), encoding="utf-8") as f:
        syms = {s["id"]: s for s in yaml.safe_load(f)}
    diseases = []
    for path in sorted(glob.glob(os.path.join(kgdir, "diseases", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            diseases += yaml.safe_load(f) or []
    with open(os.path.join(kgdir, "red_flags.yaml"), encoding="utf-8") as f:
        flags = yaml.safe_load(f)
    return syms, diseases, flags


SYMPTOMS, DISEASES, RED_FLAGS = load_kg()
WORDS = {}  # colloquial word → symptom id
for sid, s in SYMPTOMS.items():
    for w in [s["name"]] + list(s.get("synonyms") or []):
        if len(w) > 1:
            WORDS.setdefault(w, sid)
            jieba.add_word(w, freq=200000)
DISEASE_WORDS = {}
for d in DISEASES:
    for w in [d["name"]] + list(d.get("aliases") or []):
        if len(w) > 1:
            DISEASE_WORDS.setdefault(w, d["id"])
            jieba.add_word(w, freq=200000)
jieba.initialize()


class Head:
    """One committed triage model: its config and an IndexBag with the ONNX weights."""

    def __init__(self, name):
        d = os.path.join(ROOT, "models", name, "1")
        with open(os.path.join(d, "config.yaml"), encoding="utf-8") as f:
            self.cfg = yaml.safe_load(f)
        p = self.cfg["parameters"]
        self.vocab = int(p["vocab"])
        self.syms = p["symptoms"].split(",")
        self.sym_index = {s: i for i, s in enumerate(self.syms)}
        self.dis_index = {s: i for i, s in enumerate(p.get("diseases", "").split(",")) if s}
        self.labels = self.cfg["labels"]
        w = {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float32))
             for t in onnx.load(os.path.join(d, "model.onnx")).graph.initializer}
        heads = [w[f"heads.{i}.weight"].shape[0] for i in range(2) if f"heads.{i}.weight" in w]
        self.model = IndexBag(self.vocab, w["bias"].shape[0], heads, second_sigmoid=True)
        self.model.emb.weight.data = w["emb.weight"]
        self.model.bias.data = w["bias"]
        for i in range(len(heads)):
            self.model.heads[i].weight.data = w[f"heads.{i}.weight"]
            self.model.heads[i].bias.data = w[f"heads.{i}.bias"]
        self.model.eval()

    def indices(self, state, diseases, patient, grams):
        n, nd = len(self.syms), len(self.dis_index)
        out = set()
        for sid, present in state.items():
            i = self.sym_index.get(sid)
            if i is not None:
                out.add(i if present else n + i)
        for did in diseases:
            if did in self.dis_index:
                out.add(2 * n + self.dis_index[did])
        base = 2 * n + nd
        out.update(base + k for k in patient)
        base += 7
        out.update(base + g % NGRAM_BUCKETS for g in grams)
        x = sorted(out)[:WIDTH]
        return x + [self.vocab] * (WIDTH - len(x))

    @torch.inference_mode()
    def predict(self, idx):
        out = self.model(torch.tensor([idx], dtype=torch.int64))
        if isinstance(out, tuple):
            return out[0][0].tolist(), out[1][0].tolist()
        return out[0].tolist(), None


DEPT, DISEASE, URGENCY = Head("triage-department"), Head("triage-disease"), Head("triage-urgency")


def fnv32a(b):
    h = 2166136261
    for c in b:
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return h


def grams(text):
    rs = [c for c in text if c.isalnum()][:MAX_GRAM_RUNES]
    out = []
    for i in range(len(rs)):
        for n in range(1, 4):
            if i + n <= len(rs):
                out.append(fnv32a("".join(rs[i:i + n]).encode("utf-8")))
    return out


def extract(text):
    """Symptom ids (True present, False negated) and named diseases."""
    state, diseases = {}, []
    toks = list(jieba.cut(text))
    for i, t in enumerate(toks):
        sid = WORDS.get(t)
        if sid:
            negated = any(n in "".join(toks[max(0, i - 3):i]) for n in NEGATIONS)
            state[sid] = state.get(sid, False) or not negated
        elif t in DISEASE_WORDS:
            diseases.append(DISEASE_WORDS[t])
    return state, diseases


def patient_features(age, sex):
    f = []
    if age is not None:
        f.append(0 if age < 1 else 1 if age < 14 else 3 if age >= 60 else 2)
    if sex == "male":
        f.append(4)
    elif sex == "female":
        f.append(5)
    return f


# The disease–symptom likelihoods as one matrix (diseases × symptoms), so the
# posterior and the information gain are numpy expressions, as a team would
# write them, not Python loops.
SYM_IDS = sorted(SYMPTOMS)
SYM_COL = {s: j for j, s in enumerate(SYM_IDS)}
LIKE = np.full((len(DISEASES), len(SYM_IDS)), LEAK)
for i, d in enumerate(DISEASES):
    for sid, f in (d.get("symptoms") or {}).items():
        if sid in SYM_COL:
            LIKE[i, SYM_COL[sid]] = min(0.95, max(LEAK, float(f)))
LOG_LIKE, LOG_UNLIKE = np.log(LIKE), np.log(1 - LIKE)
LOG_PRIOR = np.log([float(d.get("prevalence") or 0.1) for d in DISEASES])
AGE_LO = np.array([(d.get("age") or [0, 120])[0] for d in DISEASES], dtype=float)
AGE_HI = np.array([(d.get("age") or [0, 120])[1] for d in DISEASES], dtype=float)
SEX = np.array([d.get("sex") or "" for d in DISEASES])
HAS_QUESTION = np.array([bool(SYMPTOMS[s].get("question")) for s in SYM_IDS])
ASK_COL = np.array([DISEASE.sym_index.get(s, -1) for s in SYM_IDS])


def posterior(state, age, sex):
    """Naive Bayes over the KG diseases with the prevalence as prior."""
    lp = LOG_PRIOR.copy()
    if age is not None:
        lp[(age < AGE_LO) | (age > AGE_HI)] -= 10
    if sex:
        lp[(SEX != "") & (SEX != sex)] -= 10
    for sid, present in state.items():
        j = SYM_COL.get(sid)
        if j is not None:
            lp += LOG_LIKE[:, j] if present else LOG_UNLIKE[:, j]
    p = np.exp(lp - lp.max())
    p /= p.sum()
    order = np.argsort(-p)
    return [(float(p[i]), int(i)) for i in order]


def entropy_rows(p):
    """Entropy of each row of p (rows sum to 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(p), 0).sum(axis=-1)


def next_question(state, post, ask):
    """The unasked symptom of the top candidates with the highest expected
    information gain, weighted by the ask head."""
    cand = np.array([i for _, i in post[:CANDIDATES]])
    ps = np.array([p for p, _ in post[:CANDIDATES]])
    ps /= ps.sum()
    listed = (LIKE[cand] > LEAK).any(axis=0) & HAS_QUESTION
    for sid in state:
        if sid in SYM_COL:
            listed[SYM_COL[sid]] = False
    cols = np.flatnonzero(listed)
    if len(cols) == 0:
        return None
    f = LIKE[np.ix_(cand, cols)]  # candidates × symptoms
    py = ps @ f
    yes = (ps[:, None] * f) / py
    no = (ps[:, None] * (1 - f)) / (1 - py)
    gain = entropy_rows(ps) - py * entropy_rows(yes.T) - (1 - py) * entropy_rows(no.T)
    if ask is not None:
        j = ASK_COL[cols]
        weight = np.where(j >= 0, 3.0 + np.asarray(ask)[np.maximum(j, 0)], 1.0)
        gain = np.where(j >= 0, weight * (gain + 0.05), gain)
    k = int(np.argmax(gain))
    if gain[k] <= 1e-3:
        return None
    s = SYMPTOMS[SYM_IDS[cols[k]]]
    return {"symptom_id": SYM_IDS[cols[k]], "name": s["name"], "text": s["question"]}


def red_flags(state):
    present = {s for s, v in state.items() if v}
    out = []
    for rf in RED_FLAGS:
        if not rf.get("all") and not rf.get("any"):
            continue  # vital-sign and age rules: this peer reads no vitals
        if set(rf.get("all") or []) <= present and (not rf.get("any") or present & set(rf["any"])):
            out.append({"id": rf["id"], "name": rf["name"], "urgency": rf["urgency"]})
    return out


app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/v1/triage")
async def triage(request: Request):
    try:
        req = await request.json()
    except Exception as e:  # noqa: BLE001 - any decoding failure is the client's
        raise HTTPException(status_code=400, detail=f"bad JSON: {e}")
    text, age, sex = req.get("text") or "", req.get("age"), req.get("sex") or ""
    if not text.strip():
        raise HTTPException(status_code=400, detail="text is required")
    state, named = extract(text)
    for ev in req.get("evidence") or []:
        if ev.get("state") in ("present", "absent"):
            state[ev["id"]] = ev["state"] == "present"
    pat, gs = patient_features(age, sex), grams(text)
    idx = DEPT.indices(state, named, pat, gs)
    dept_p, _ = DEPT.predict(idx)
    dis_p, ask = DISEASE.predict(DISEASE.indices(state, named, pat, gs))
    urg_p, _ = URGENCY.predict(URGENCY.indices(state, named, pat, gs))
    post = posterior(state, age, sex)
    # Blend the ranker with the posterior as the server does for adults.
    by_id = {d["id"]: i for i, d in enumerate(DISEASES)}
    blended = {i: 0.85 * p for p, i in post[:CANDIDATES]}
    for label, q in zip(DISEASE.labels, dis_p):
        if q >= 1e-3 and label in by_id:
            blended[by_id[label]] = blended.get(by_id[label], 0) + 0.15 * q
    z = sum(blended.values())
    ranked = sorted(((p / z, i) for i, p in blended.items()), reverse=True)
    flags = red_flags(state)
    level = URGENCY.labels[int(np.argmax(urg_p))]
    if any(f["urgency"] == "emergency" for f in flags):
        level = "emergency"
    depts = sorted(zip(DEPT.labels, dept_p), key=lambda x: -x[1])[:5]
    return {
        "symptoms": [{"id": s, "state": "present" if v else "absent"} for s, v in sorted(state.items())],
        "departments": [{"code": c, "probability": round(p, 4)} for c, p in depts],
        "urgency": {"level": level, "red_flags": flags},
        "diseases": [{"id": DISEASES[i]["id"], "name": DISEASES[i]["name"], "probability": round(p, 4)} for p, i in ranked[:5]],
        "next_question": next_question(state, ranked, ask),
    }
