"""Train the three fraud models on the ULB card transactions, split by time; export each to ONNX
and check it against its own framework; fit the vote's weights and the decision threshold on the
validation period; measure everything on the last period, which no choice has seen.

    python train.py creditcard.csv OUTPUT_DIR

OUTPUT_DIR gets gbm.onnx, logreg.onnx, mlp.onnx, ensemble.json (weights, threshold, review cost)
and metrics.json (per model and for the ensemble, validation and test)."""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pandas as pd
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType as MLToolsFloat
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 7
# The models read V1..V28 and Amount. Time (seconds since the first transaction of the two days)
# is left out: in a split by time its values in the test period lie beyond anything seen in training.
FEATURES = [f"V{i}" for i in range(1, 29)] + ["Amount"]
SPLIT = (0.6, 0.8)  # first 60 % of the time line trains, next 20 % chooses, last 20 % reports
REVIEW_COST = 5.0  # a false alarm costs an analyst's review; a missed fraud costs its amount
MAX_FPR = 0.001  # "recall at 0.1 % false positive rate"
ONNX_TOLERANCE = 1e-4  # ONNX (float32) against the framework, per probability


# --8<-- [start:split]
def split_by_time(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Earliest transactions train, the next ones validate, the last ones test: never a random
    split, which would let the models learn from the future they are then scored on."""
    frame = frame.sort_values("Time", kind="stable").reset_index(drop=True)
    first, second = (int(len(frame) * share) for share in SPLIT)
    return frame.iloc[:first], frame.iloc[first:second], frame.iloc[second:]


# --8<-- [end:split]


def train(train_set: pd.DataFrame) -> dict[str, object]:
    x, y = train_set[FEATURES].to_numpy(np.float32), train_set["Class"].to_numpy()
    gbm = lgb.LGBMClassifier(
        n_estimators=300,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=SEED,
        n_jobs=2,
        verbose=-1,
    ).fit(x, y)
    logreg = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(x, y)
    mlp = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(32, 16), alpha=1e-3, max_iter=60, early_stopping=True, random_state=SEED),
    ).fit(x, y)
    return {"gbm": gbm, "logreg": logreg, "mlp": mlp}


def export(name: str, model, path: Path) -> None:
    if name == "gbm":  # onnxmltools and skl2onnx each want their own tensor type
        types = [("features", MLToolsFloat([None, len(FEATURES)]))]
        onnx_model = convert_lightgbm(model, initial_types=types, zipmap=False, target_opset=15)
    else:
        types = [("features", FloatTensorType([None, len(FEATURES)]))]
        onnx_model = convert_sklearn(model, initial_types=types, options={"zipmap": False}, target_opset=15)
    path.write_bytes(onnx_model.SerializeToString())


def onnx_scores(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"features": x})
    return probabilities[:, 1].astype(np.float64)


def recall_at_fpr(y: np.ndarray, scores: np.ndarray, max_fpr: float = MAX_FPR) -> float:
    fpr, tpr, _ = roc_curve(y, scores)
    return float(tpr[fpr <= max_fpr].max())


def expected_cost(y: np.ndarray, scores: np.ndarray, amounts: np.ndarray, threshold: float) -> float:
    flagged = scores >= threshold
    return float(amounts[(y == 1) & ~flagged].sum() + REVIEW_COST * ((y == 0) & flagged).sum())


def cheapest_threshold(y: np.ndarray, scores: np.ndarray, amounts: np.ndarray) -> float:
    candidates = np.unique(np.quantile(scores, np.linspace(0.9, 1.0, 2001)))
    return float(min(candidates, key=lambda t: expected_cost(y, scores, amounts, t)))


# --8<-- [start:weights]
def fit_weights(y: np.ndarray, scores: dict[str, np.ndarray], step: float = 0.05) -> dict[str, float]:
    """Weights of the soft vote: the point of the simplex (every weight a multiple of ``step``,
    summing to 1) with the best average precision on the validation period."""
    names, grid = list(scores), np.arange(0, 1 + step / 2, step)
    best, best_ap = None, -1.0
    for weights in itertools.product(grid, repeat=len(names) - 1):
        last = 1 - sum(weights)
        if last < -1e-9:
            continue
        combined = dict(zip(names, (*weights, max(last, 0.0)), strict=True))
        ap = average_precision_score(y, sum(w * scores[n] for n, w in combined.items()))
        if ap > best_ap + 1e-12:
            best, best_ap = combined, ap
    assert best is not None
    return {name: round(float(weight), 4) for name, weight in best.items()}


# --8<-- [end:weights]


def quality(y: np.ndarray, scores: np.ndarray, amounts: np.ndarray, threshold: float) -> dict[str, float]:
    flagged = scores >= threshold
    return {
        "pr_auc": round(float(average_precision_score(y, scores)), 4),
        "recall_at_0.1pct_fpr": round(recall_at_fpr(y, scores), 4),
        "expected_cost": round(expected_cost(y, scores, amounts, threshold), 2),
        "threshold": round(threshold, 6),
        "flagged": int(flagged.sum()),
        "frauds_caught": int((flagged & (y == 1)).sum()),
        "frauds": int(y.sum()),
        "transactions": len(y),
    }


def main(csv: Path, out: Path) -> None:
    frame = pd.read_csv(csv)
    train_set, validation, test = split_by_time(frame)
    models = train(train_set)
    sets = {"validation": validation, "test": test}
    x = {name: part[FEATURES].to_numpy(np.float32) for name, part in sets.items()}
    y = {name: part["Class"].to_numpy() for name, part in sets.items()}
    amounts = {name: part["Amount"].to_numpy(np.float64) for name, part in sets.items()}

    out.mkdir(parents=True, exist_ok=True)
    scores: dict[str, dict[str, np.ndarray]] = {"validation": {}, "test": {}}
    agreement = {}
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        for name, model in models.items():
            path = Path(tmp) / f"{name}.onnx"
            export(name, model, path)
            # --8<-- [start:check]
            framework = model.predict_proba(x["test"])[:, 1]
            served = onnx_scores(path, x["test"])
            difference = np.abs(framework - served)
            agreement[name] = {
                "max_abs_difference": float(difference.max()),
                "rows_over_tolerance": int((difference > ONNX_TOLERANCE).sum()),
            }
            if agreement[name]["rows_over_tolerance"]:
                raise SystemExit(f"{name}: ONNX differs from its framework on the test split: {agreement[name]}")
            # --8<-- [end:check]
            for part in sets:  # what Triton will compute: the ONNX file's own scores
                scores[part][name] = onnx_scores(path, x[part])
        weights = fit_weights(y["validation"], scores["validation"])
        for part in sets:
            scores[part]["ensemble"] = sum(w * scores[part][n] for n, w in weights.items())
        thresholds = {
            n: cheapest_threshold(y["validation"], s, amounts["validation"]) for n, s in scores["validation"].items()
        }
        metrics = {
            part: {n: quality(y[part], s, amounts[part], thresholds[n]) for n, s in scores[part].items()}
            for part in sets
        }
        curves = {}
        for name, s in scores["test"].items():
            precision, recall, _ = precision_recall_curve(y["test"], s)
            # Recall moves only at a fraud: keep both ends of every step, the curve's exact shape.
            steps = np.flatnonzero(np.diff(recall))
            keep = np.unique(np.r_[0, steps, steps + 1, len(recall) - 1])
            curves[name] = {"precision": precision[keep].round(4).tolist(), "recall": recall[keep].round(4).tolist()}
        (Path(tmp) / "ensemble.json").write_text(
            json.dumps(
                {
                    "models": list(models),
                    "weights": weights,
                    "threshold": thresholds["ensemble"],
                    "review_cost": REVIEW_COST,
                    "features": FEATURES,
                },
                indent=2,
            )
        )
        (Path(tmp) / "metrics.json").write_text(
            json.dumps(
                {
                    "split": {
                        "train": len(train_set),
                        "validation": len(validation),
                        "test": len(test),
                        "test_first_time_s": float(test["Time"].iloc[0]),
                    },
                    "onnx_agreement": agreement,
                    "weights": weights,
                    "metrics": metrics,
                    "test_pr_curves": curves,
                },
                indent=2,
            )
        )
        for item in Path(tmp).iterdir():  # all files appear together, or none
            item.replace(out / item.name)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
