"""Writes a variant of the built-in model with its card: the built-in card,
naming the variant's file and its SHA-256. Used by the make_*.py scripts."""

import hashlib
import json
import pathlib

import onnx

HERE = pathlib.Path(__file__).resolve().parent
BUILT_IN_MODEL = HERE.parent / "credit-model.onnx"
BUILT_IN_CARD = HERE.parent / "credit-model.card.json"


def write_variant(name: str, model: onnx.ModelProto) -> None:
    """Writes testdata/<name>.onnx and testdata/<name>.card.json."""
    data = model.SerializeToString(deterministic=True)
    (HERE / f"{name}.onnx").write_bytes(data)
    card = json.loads(BUILT_IN_CARD.read_text())
    card["model"]["file"] = f"{name}.onnx"
    card["model"]["sha256"] = hashlib.sha256(data).hexdigest()
    text = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    (HERE / f"{name}.card.json").write_text(text)
    print(f"wrote {name}.onnx and its card")
