"""The training side's age rule (Regulation B §1002.6(b)(2)(ii)) can fail:
it accepts the built-in model and refuses the same model with its age weight
turned (testdata/young-favoured.onnx). Run by scripts/check-model.

    python model/test_age_rule.py
"""

import json
import pathlib

import onnxruntime

from train import check_age_rule

HERE = pathlib.Path(__file__).resolve().parent


def references() -> list[float]:
    card = json.loads((HERE / "credit-model.card.json").read_text())
    values = []
    for feature in card["features"]:
        favourable = feature["most_favourable"]
        if feature["kind"] in ("categorical", "boolean"):
            codes = {json.dumps(e["value"]): e["code"] for e in feature["encoding"]}
            values.append(float(codes[json.dumps(favourable)]))
        else:
            values.append(float(favourable))
    return values


def session(name: str) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(HERE / name), providers=["CPUExecutionProvider"])


def main() -> None:
    check_age_rule(session("credit-model.onnx"), references())
    try:
        check_age_rule(session("testdata/young-favoured.onnx"), references())
    except SystemExit as refusal:
        assert "refusing to write the model: age 62" in str(refusal), refusal
    else:
        raise AssertionError("a model whose age term favours the young was accepted")
    print("age rule: the built-in model passes; young-favoured.onnx is refused")


if __name__ == "__main__":
    main()
