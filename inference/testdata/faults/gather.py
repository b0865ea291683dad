"""Writes gather.onnx: out[i] = table[index[i]] for a 10-entry table.

ONNX Runtime's Run fails for an index outside [-10, 9], which the fault tests
use to make a real Run error for a chosen input (see ../../faults_test.go).
Run with /usr/bin/python3 gather.py; needs the onnx package.
"""
import onnx
from onnx import TensorProto, helper

table = helper.make_tensor("table", TensorProto.FLOAT, [10], [float(i) / 10 for i in range(10)])
node = helper.make_node("Gather", ["table", "index"], ["value"], axis=0)
graph = helper.make_graph(
    [node], "gather",
    [helper.make_tensor_value_info("index", TensorProto.INT64, ["N", 1])],
    [helper.make_tensor_value_info("value", TensorProto.FLOAT, ["N", 1])],
    initializer=[table],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="fenzhen-faults")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, "gather.onnx")
