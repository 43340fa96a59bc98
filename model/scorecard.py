"""The credit scorecard: the second model version, in the form credit-risk
teams build and read.

Each feature is binned (a categorical or boolean feature has a bin per
value; a number is cut at its training quintiles, right-closed), each bin
gets its weight of evidence, WoE = ln(share of the goods in it / share of
the bads in it), and a logistic regression on the 18 WoE values gives the
log-odds of default. A bin's points are its part of the score: the higher,
the safer (600 points at odds of 50 goods to 1 bad, 20 points to double
them). Trained by `model/train.py` beside the first model, with the same
card, the same cross-validation, the same cost-based threshold and the same
age rule.

The ONNX graph is standard operators only: each feature's bin found by
counting the edges below its value (categorical features are their own
bin), every bin's contribution to the log-odds looked up in one flat table,
summed, and the sigmoid taken. tract serves it in microseconds.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import roc_auc_score

from features import FEATURES

VERSION = "german-credit-scorecard-2026.12.0"
QUINTILES = [0.2, 0.4, 0.6, 0.8]
# WoE is smoothed with half an applicant in every bin: an empty bin gets a
# finite weight.
SMOOTHING = 0.5
C = 1.0
# Points: PDO points double the odds of good; ODDS goods to one bad score BASE.
BASE, ODDS, PDO = 600.0, 50.0, 20.0


class Scorecard:
    """Bins, WoE and the fitted regression of one training set."""

    def __init__(self, x: np.ndarray, y: np.ndarray, seed: int):
        self.edges = [self._edges(x[:, i], f) for i, f in enumerate(FEATURES)]
        self.woe = [self._woe(self.bins(x, i), y, self._count(i)) for i in range(len(FEATURES))]
        self.regression = LogisticRegression(C=C, max_iter=10_000, random_state=seed).fit(self.transform(x), y)

    def _count(self, i: int) -> int:
        """How many bins feature `i` has."""
        kind = FEATURES[i]["kind"]
        if kind == "categorical":
            return len(FEATURES[i]["values"])
        return 2 if kind == "boolean" else len(self.edges[i]) + 1

    @staticmethod
    def _edges(values: np.ndarray, feature: dict) -> list[float]:
        if feature["kind"] in ("categorical", "boolean"):
            return []
        edges = np.unique(np.quantile(values, QUINTILES, method="lower"))
        return [float(e) for e in edges if e < values.max()]

    def bins(self, x: np.ndarray, i: int) -> np.ndarray:
        """Each row's bin of feature `i`: its code, or the count of edges
        below its value (right-closed bins, as monitoring's)."""
        if FEATURES[i]["kind"] in ("categorical", "boolean"):
            return x[:, i].astype(int)
        return np.searchsorted(np.array(self.edges[i]), x[:, i], side="left")

    @staticmethod
    def _woe(bins: np.ndarray, y: np.ndarray, count: int) -> np.ndarray:
        goods = np.array([np.sum((bins == b) & (y == 0)) for b in range(count)]) + SMOOTHING
        bads = np.array([np.sum((bins == b) & (y == 1)) for b in range(count)]) + SMOOTHING
        return np.log((goods / goods.sum()) / (bads / bads.sum()))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([self.woe[i][self.bins(x, i)] for i in range(len(FEATURES))])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.regression.predict_proba(self.transform(x))[:, 1]

    def contributions(self) -> list[np.ndarray]:
        """Each bin's part of the log-odds of default."""
        coefficients = self.regression.coef_[0]
        return [coefficients[i] * self.woe[i] for i in range(len(FEATURES))]

    def points(self) -> list[list[int]]:
        """Each bin's points: the intercept shared out evenly, higher safer."""
        factor = PDO / np.log(2)
        offset = BASE - factor * np.log(ODDS)
        share = self.regression.intercept_[0] / len(FEATURES)
        return [[int(round(offset / len(FEATURES) - factor * (c + share))) for c in bins] for bins in self.contributions()]


def cross_validate(x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> tuple[list[float], np.ndarray]:
    """Per-fold ROC AUC and the out-of-fold probability of every row: the
    bins and WoE are made again on each fold's training part."""
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out_of_fold = np.zeros(len(y))
    aucs = []
    for train, test in splits.split(x, y):
        card = Scorecard(x[train], y[train], seed)
        out_of_fold[test] = card.predict_proba(x[test])
        aucs.append(float(roc_auc_score(y[test], out_of_fold[test])))
    return aucs, out_of_fold


def build_onnx(card: Scorecard) -> onnx.ModelProto:
    """The scorecard as standard ONNX operators:

        above   = Cast(Greater(Unsqueeze(features, 2), edges))     [N, 18, E]
        bin     = Where(is_category, features, ReduceSum(above, 2)) [N, 18]
        part    = Gather(table, Cast(bin) + offset)                 [N, 18]
        logit   = ReduceSum(part, 1) + intercept;  p = Sigmoid(logit)
    """
    width = max(1, max(len(e) for e in card.edges))
    # A category's row of edges is all +inf: nothing is above it, and its bin
    # is its code instead.
    edges = np.full((len(FEATURES), width), np.inf, dtype=np.float32)
    for i, e in enumerate(card.edges):
        edges[i, : len(e)] = e
    is_category = [f["kind"] in ("categorical", "boolean") for f in FEATURES]
    parts = card.contributions()
    offsets = np.cumsum([0] + [len(p) for p in parts[:-1]]).astype(np.float32)
    table = np.concatenate(parts).astype(np.float32)

    def tensor(name, dtype, values, dims):
        return helper.make_tensor(name, dtype, dims, values)

    initializers = [
        tensor("edges", TensorProto.FLOAT, edges.flatten().tolist(), list(edges.shape)),
        tensor("is_category", TensorProto.BOOL, is_category, [len(FEATURES)]),
        tensor("offsets", TensorProto.FLOAT, offsets.tolist(), [len(FEATURES)]),
        tensor("table", TensorProto.FLOAT, table.tolist(), [len(table)]),
        tensor("intercept", TensorProto.FLOAT, card.regression.intercept_.astype(np.float32).tolist(), [1]),
        tensor("axis_2", TensorProto.INT64, [2], [1]),
        tensor("axis_1", TensorProto.INT64, [1], [1]),
    ]
    nodes = [
        helper.make_node("Unsqueeze", ["features", "axis_2"], ["column"]),
        helper.make_node("Greater", ["column", "edges"], ["is_above"]),
        helper.make_node("Cast", ["is_above"], ["above"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["above", "axis_2"], ["counted"], keepdims=0),
        helper.make_node("Where", ["is_category", "features", "counted"], ["bin"]),
        helper.make_node("Add", ["bin", "offsets"], ["place"]),
        helper.make_node("Cast", ["place"], ["index"], to=TensorProto.INT64),
        helper.make_node("Gather", ["table", "index"], ["part"], axis=0),
        helper.make_node("ReduceSum", ["part", "axis_1"], ["summed"], keepdims=1),
        helper.make_node("Add", ["summed", "intercept"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability_of_default"]),
    ]
    graph = helper.make_graph(
        nodes,
        "credit_scorecard",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(FEATURES)])],
        [
            helper.make_tensor_value_info("probability_of_default", TensorProto.FLOAT, ["N", 1]),
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
    model.doc_string = f"{VERSION}: a WoE scorecard of the probability of default on the Statlog German Credit data"
    onnx.checker.check_model(model, full_check=True)
    return model


def most_favourable(card: Scorecard, x: np.ndarray) -> list[float]:
    """Each feature's most favourable value: for a category the code with
    the lowest contribution; for a number, the median training value of its
    lowest-contribution bin."""
    references = []
    for i, parts in enumerate(card.contributions()):
        best = int(np.argmin(parts))
        if FEATURES[i]["kind"] in ("categorical", "boolean"):
            references.append(float(best))
            continue
        in_best = np.sort(x[card.bins(x, i) == best, i])
        references.append(float(in_best[len(in_best) // 2]))
    return references


def described_bins(card: Scorecard) -> list[dict]:
    """The card's description of each feature's bins: edges, WoE, points."""
    points = card.points()
    described = []
    for i, feature in enumerate(FEATURES):
        entry = {"name": feature["name"], "woe": [round(float(w), 6) for w in card.woe[i]], "points": points[i]}
        if card.edges[i]:
            entry["edges"] = card.edges[i]
        described.append(entry)
    return described
