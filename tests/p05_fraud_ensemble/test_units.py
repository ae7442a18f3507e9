"""The vote and its renormalisation, without a server."""

from __future__ import annotations

import numpy as np
import pytest

from fraud_ensemble.api.routes import feature_rows
from fraud_ensemble.api.schemas import Transaction
from fraud_ensemble.services.voting import NoQuorum, renormalised, vote

WEIGHTS = {"gbm": 0.2, "logreg": 0.15, "mlp": 0.65}


def test_all_present_keeps_the_fitted_weights():
    assert renormalised(WEIGHTS, set(WEIGHTS)) == pytest.approx(WEIGHTS)


def test_a_missing_model_s_weight_is_shared_out_in_proportion():
    weights = renormalised(WEIGHTS, {"gbm", "logreg"})
    assert weights == pytest.approx({"gbm": 0.2 / 0.35, "logreg": 0.15 / 0.35})
    assert sum(weights.values()) == pytest.approx(1)


def test_models_with_no_weight_cannot_vote_alone():
    with pytest.raises(NoQuorum):
        renormalised({"gbm": 0.0, "logreg": 0.0, "mlp": 1.0}, {"gbm", "logreg"})


def test_the_vote_is_the_weighted_mean():
    scores = {"gbm": np.array([0.0, 1.0]), "logreg": np.array([1.0, 1.0])}
    assert vote(scores, {"gbm": 0.25, "logreg": 0.75}).tolist() == [0.75, 1.0]


def test_feature_rows_follow_the_models_column_order_and_leave_time_out():
    row = {"Time": 5.0, **{f"V{i}": float(i) for i in range(1, 29)}, "Amount": 9.5}
    columns = [f"V{i}" for i in range(1, 29)] + ["Amount"]
    features = feature_rows([Transaction(**row)], columns)
    assert features.dtype == np.float32 and features.shape == (1, 29)
    assert features[0].tolist() == [*map(float, range(1, 29)), 9.5]
