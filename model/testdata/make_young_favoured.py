"""Writes young-favoured.onnx and its card: the built-in model with the sign
of its age weight turned, so that older applicants look riskier. The service
must refuse it at start-up (Regulation B §1002.6(b)(2)(ii)); the test suite
checks that it does.

    python model/testdata/make_young_favoured.py
"""

import hashlib
import json
import pathlib

import onnx
from onnx import numpy_helper

HERE = pathlib.Path(__file__).resolve().parent
MODEL = HERE.parent / "credit-model.onnx"
AGE_INPUT = 11  # age_years' position in the input vector

model = onnx.load(MODEL)
initializers = {tensor.name: tensor for tensor in model.graph.initializer}
source = numpy_helper.to_array(initializers["source"])
weights = numpy_helper.to_array(initializers["weights"]).copy()
weights[list(source).index(AGE_INPUT)] *= -1
initializers["weights"].CopyFrom(numpy_helper.from_array(weights, "weights"))
data = model.SerializeToString(deterministic=True)
(HERE / "young-favoured.onnx").write_bytes(data)

card = json.loads((HERE.parent / "credit-model.card.json").read_text())
card["model"]["file"] = "young-favoured.onnx"
card["model"]["sha256"] = hashlib.sha256(data).hexdigest()
(HERE / "young-favoured.card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
print("wrote young-favoured.onnx and its card")
