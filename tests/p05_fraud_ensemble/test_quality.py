"""The published quality is the service's: the whole held-out period scored through the API gives
the ensemble's PR-AUC that the build measured offline (metrics.json, the docs' table)."""

from __future__ import annotations

import json

import httpx
import numpy as np


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as a step function (scikit-learn's definition)."""
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(labels)[last_of_each_score]
    precision = true_positives / (last_of_each_score + 1)
    recall = true_positives / labels.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# --8<-- [start:reproduce]
def test_the_ensemble_pr_auc_is_reproduced_from_the_service_s_answers(stack, held_out):
    columns, rows, labels = held_out
    scores = []
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        for start in range(0, len(rows), 256):
            batch = [dict(zip(columns, map(float, row), strict=True)) for row in rows[start : start + 256]]
            answer = client.post("/v1/score/batch", json={"transactions": batch}).json()
            assert answer["degraded"] is False, answer["missing"]
            scores += [r["fraud_probability"] for r in answer["results"]]
    offline = json.loads((stack.models / "metrics.json").read_text())["metrics"]["test"]["ensemble"]
    assert round(average_precision(labels, np.array(scores)), 4) == offline["pr_auc"]
    flagged = np.array(scores) >= offline["threshold"]
    assert (int(flagged.sum()), int((flagged & (labels == 1)).sum())) == (offline["flagged"], offline["frauds_caught"])


# --8<-- [end:reproduce]
