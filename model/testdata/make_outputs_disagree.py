"""Writes outputs-disagree.onnx and its card: the built-in model whose second
output is twice its log-odds, so it no longer agrees with the probability.
Reasons are ranked by that output; the service must refuse the model at
load (its trial run), and onnx-scorer's tests check that it does.

    python model/testdata/make_outputs_disagree.py
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper

from variant import BUILT_IN_MODEL, write_variant

model = onnx.load(BUILT_IN_MODEL)
graph = model.graph
# The log-odds node writes `raw_logit`; the sigmoid reads it, and the output
# `logit` becomes its double.
for node in graph.node:
    node.output[:] = ["raw_logit" if name == "logit" else name for name in node.output]
    node.input[:] = ["raw_logit" if name == "logit" else name for name in node.input]
graph.initializer.append(numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"))
graph.node.append(helper.make_node("Mul", ["raw_logit", "two"], ["logit"]))
onnx.checker.check_model(model)
write_variant("outputs-disagree", model)
