"""Writes young-favoured.onnx and its card: the built-in model with the sign
of its age weight turned, so that older applicants look riskier. The service
must refuse it at start-up (Regulation B §1002.6(b)(2)(ii)); the test suite
checks that it does.

    python model/testdata/make_young_favoured.py
"""

import onnx
from onnx import numpy_helper

from variant import BUILT_IN_MODEL, write_variant

AGE_INPUT = 11  # age_years' position in the input vector

model = onnx.load(BUILT_IN_MODEL)
initializers = {tensor.name: tensor for tensor in model.graph.initializer}
source = numpy_helper.to_array(initializers["source"])
weights = numpy_helper.to_array(initializers["weights"]).copy()
weights[list(source).index(AGE_INPUT)] *= -1
initializers["weights"].CopyFrom(numpy_helper.from_array(weights, "weights"))
write_variant("young-favoured", model)
