"""A minimal NumPy evaluator for the ONNX graphs these training scripts export.

Debian's python3-onnx is 1.12, which has no onnx.reference.ReferenceEvaluator,
and there is no Debian package of onnxruntime. This evaluates the exported file
node by node (float64 internally, FP32 out) so the metrics we report are those
of the exported graph, not of the torch module. It supports only the operators
torch.onnx.export emits for these CNNs and fails loudly on anything else.
"""
import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    group = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (x.shape[2] - (dh * (kh - 1) + 1)) // sh + 1
    ow = (x.shape[3] - (dw * (kw - 1) + 1)) // sw + 1
    out = np.empty((n, m, oh, ow))
    mg = m // group
    for g in range(group):
        xs = x[:, g * cg:(g + 1) * cg]
        cols = np.empty((n, cg, kh, kw, oh, ow))
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xs[:, :, i * dh:i * dh + sh * oh:sh, j * dw:j * dw + sw * ow:sw]
        wg = w[g * mg:(g + 1) * mg].reshape(mg, -1)
        out[:, g * mg:(g + 1) * mg] = np.einsum("mk,nkhw->nmhw", wg, cols.reshape(n, -1, oh, ow), optimize=True)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _pool(x, a, kind):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("ceil_mode", 0):
        raise NotImplementedError("ceil_mode")
    fill = -np.inf if kind == "max" else 0.0
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=fill)
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    win = np.stack([x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] for i in range(kh) for j in range(kw)])
    if kind == "max":
        return win.max(0)
    if any((pt, pl, pb, pr)) and not a.get("count_include_pad", 0):
        raise NotImplementedError("AveragePool with pads")
    return win.mean(0)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def run(path_or_model, feeds):
    m = onnx.load(path_or_model) if isinstance(path_or_model, str) else path_or_model
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f"
           else numpy_helper.to_array(t) for t in m.graph.initializer}
    for k, v in feeds.items():
        env[k] = np.asarray(v, dtype=np.float64)
    for node in m.graph.node:
        a = _attrs(node)
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            y = _conv(i[0], i[1], i[2] if len(i) > 2 else None, a)
        elif op == "BatchNormalization":
            x, s, b, mu, var = i[:5]
            sh = (1, -1) + (1,) * (x.ndim - 2)
            y = (x - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + a.get("epsilon", 1e-5)) * s.reshape(sh) + b.reshape(sh)
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Sub":
            y = i[0] - i[1]
        elif op == "Mul":
            y = i[0] * i[1]
        elif op == "Div":
            y = i[0] / i[1]
        elif op == "MaxPool":
            y = _pool(i[0], a, "max")
        elif op == "AveragePool":
            y = _pool(i[0], a, "avg")
        elif op == "GlobalAveragePool":
            y = i[0].mean(axis=(2, 3), keepdims=True)
        elif op == "ReduceMean":
            axes = a.get("axes") if "axes" in a else (tuple(int(v) for v in i[1]) if len(i) > 1 else None)
            y = i[0].mean(axis=tuple(axes) if axes is not None else None, keepdims=bool(a.get("keepdims", 1)))
        elif op in ("ReduceSum", "ReduceMin", "ReduceMax"):
            axes = a.get("axes") if "axes" in a else (tuple(int(v) for v in i[1]) if len(i) > 1 and i[1] is not None else None)
            f = {"ReduceSum": np.sum, "ReduceMin": np.min, "ReduceMax": np.max}[op]
            y = f(i[0], axis=tuple(axes) if axes is not None else None, keepdims=bool(a.get("keepdims", 1)))
        elif op == "Unsqueeze":
            axes = a.get("axes") if "axes" in a else [int(v) for v in i[1]]
            y = i[0]
            for ax in sorted(int(v) % (y.ndim + len(axes)) for v in axes):
                y = np.expand_dims(y, ax)
        elif op == "Squeeze":
            axes = a.get("axes") if "axes" in a else ([int(v) for v in i[1]] if len(i) > 1 and i[1] is not None else None)
            y = np.squeeze(i[0], axis=tuple(axes) if axes is not None else None)
        elif op == "Sqrt":
            y = np.sqrt(i[0])
        elif op == "Exp":
            y = np.exp(i[0])
        elif op == "Log":
            y = np.log(i[0])
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
        elif op == "Reshape":
            shape = [int(v) for v in i[1]]
            shape = [i[0].shape[k] if v == 0 else v for k, v in enumerate(shape)]
            y = i[0].reshape(shape)
        elif op == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
        elif op == "MatMul":
            y = i[0] @ i[1]
        elif op == "Softmax":
            y = _softmax(i[0], a.get("axis", -1))
        elif op == "LogSoftmax":
            x = i[0]
            ax = a.get("axis", -1)
            z = x - x.max(ax, keepdims=True)
            y = z - np.log(np.exp(z).sum(ax, keepdims=True))
        elif op == "Identity":
            y = i[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
            y = y.astype(np.float64) if y.dtype.kind == "f" else y
        elif op == "Concat":
            y = np.concatenate(i, axis=a["axis"])
        elif op == "Slice":
            x = i[0]
            starts, ends = [int(v) for v in i[1]], [int(v) for v in i[2]]
            axes = [int(v) for v in i[3]] if len(i) > 3 and i[3] is not None else list(range(len(starts)))
            steps = [int(v) for v in i[4]] if len(i) > 4 and i[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for ax, st, en, sp in zip(axes, starts, ends, steps):
                dim = x.shape[ax]
                if sp < 0:  # clamp as ONNX does; -inf end means "through index 0"
                    st = min(st + dim if st < 0 else st, dim - 1)
                    en = None if en < -dim else (en + dim if en < 0 else min(en, dim))
                else:
                    st = max(0, st + dim if st < 0 else min(st, dim))
                    en = max(0, en + dim if en < 0 else min(en, dim))
                sl[ax] = slice(st, en, sp)
            y = x[tuple(sl)]
        elif op == "Transpose":
            y = np.transpose(i[0], a.get("perm"))
        else:
            raise NotImplementedError(f"onnx_numpy: operator {op} is not supported")
        env[node.output[0]] = y
    return {o.name: env[o.name].astype(np.float32) for o in m.graph.output}
