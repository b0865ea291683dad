"""FastAPI + PyTorch baseline for `fenzhen bench --workload imaging`.

Serves the committed chest-xray model the way a typical Python service
would: one request at a time, PIL decoding, PyTorch kernels. There is no
torch checkpoint in the repository (the exported ONNX is what ships), so the
ONNX graph is run node by node with torch.nn.functional on the same weights:
the same model, PyTorch doing the arithmetic.

    /usr/bin/python3 -m uvicorn --app-dir bench/fastapi server:app --port 9100
Needs Debian python3-fastapi, uvicorn, python3-torch, python3-onnx, python3-pil.
"""
import io
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import yaml
from fastapi import FastAPI, HTTPException, Request
from onnx import numpy_helper
from PIL import Image

MODEL_DIR = os.environ.get("FENZHEN_BASELINE_MODEL", os.path.join(os.path.dirname(__file__), "..", "..", "models", "chest-xray", "1"))
torch.set_num_threads(int(os.environ.get("FENZHEN_BASELINE_THREADS", "2")))


class TorchGraph:
    """Runs the ops torch.onnx.export emitted for our CNNs with PyTorch."""

    def __init__(self, path):
        m = onnx.load(path)
        self.nodes = list(m.graph.node)
        self.init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
        self.input = m.graph.input[0].name
        self.output = m.graph.output[0].name
        self.attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in self.nodes]

    @torch.inference_mode()
    def __call__(self, x):
        env = dict(self.init)
        env[self.input] = x
        for node, a in zip(self.nodes, self.attrs):
            i = [env[n] if n else None for n in node.input]
            op = node.op_type
            if op == "Conv":
                pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
                assert pt == pb and pl == pr, "asymmetric pads"
                y = F.conv2d(i[0], i[1], i[2] if len(i) > 2 else None, stride=a.get("strides", [1, 1]),
                             padding=(pt, pl), dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
            elif op == "Relu":
                y = F.relu(i[0])
            elif op == "Add":
                y = i[0] + i[1]
            elif op == "Div":
                y = i[0] / i[1]
            elif op == "GlobalAveragePool":
                y = i[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Flatten":
                y = torch.flatten(i[0], a.get("axis", 1))
            elif op == "Gemm":
                A = i[0].t() if a.get("transA", 0) else i[0]
                B = i[1].t() if a.get("transB", 0) else i[1]
                y = a.get("alpha", 1.0) * A @ B
                if len(i) > 2 and i[2] is not None:
                    y = y + a.get("beta", 1.0) * i[2]
            elif op == "Softmax":
                y = torch.softmax(i[0], a.get("axis", -1))
            elif op == "LogSoftmax":
                y = torch.log_softmax(i[0], a.get("axis", -1))
            elif op == "Identity":
                y = i[0]
            elif op == "MatMul":
                y = i[0] @ i[1]
            elif op == "Mul":
                y = i[0] * i[1]
            elif op == "Sub":
                y = i[0] - i[1]
            elif op in ("ReduceSum", "ReduceMin"):  # the input gate's OOD head
                axes = a.get("axes") if "axes" in a else [int(v) for v in i[1]]
                keep = bool(a.get("keepdims", 1))
                y = i[0]
                for ax in sorted(axes, reverse=True):
                    y = y.sum(ax, keepdim=keep) if op == "ReduceSum" else y.amin(ax, keepdim=keep)
            elif op == "Constant":
                y = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
            else:
                raise NotImplementedError(op)
            env[node.output[0]] = y
        return env[self.output]


with open(os.path.join(MODEL_DIR, "config.yaml")) as f:
    CFG = yaml.safe_load(f)
PRE = CFG["preprocess"]
LABELS = CFG["labels"]
GRAPH = TorchGraph(os.path.join(MODEL_DIR, "model.onnx"))
MEAN = np.array(PRE["mean"], np.float32).reshape(-1, 1, 1)
STD = np.array(PRE["std"], np.float32).reshape(-1, 1, 1)

app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/predict")
async def predict(request: Request):
    body = await request.body()
    try:
        img = Image.open(io.BytesIO(body))
        img = img.convert("L" if PRE["channels"] == 1 else "RGB")
    except Exception as e:  # noqa: BLE001 - any decoder failure is the client's
        raise HTTPException(status_code=415, detail=f"not an image: {e}")
    if img.size != (PRE["width"], PRE["height"]):
        img = img.resize((PRE["width"], PRE["height"]), Image.BOX)
    x = np.asarray(img, np.float32) / 255.0
    x = x[None] if x.ndim == 2 else x.transpose(2, 0, 1)
    x = (x - MEAN) / STD
    probs = GRAPH(torch.from_numpy(x[None].astype(np.float32)))[0].tolist()
    findings = sorted(({"label": l, "probability": p} for l, p in zip(LABELS, probs)), key=lambda f: -f["probability"])
    return {"findings": findings}
