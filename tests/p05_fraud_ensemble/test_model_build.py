"""The build: split by time, each ONNX export equal to its framework on the test period, and the
check that refuses a file that is not a working model."""

from __future__ import annotations

import json
import shutil

import pytest
from study.local.fraud_ensemble.stack import check_models

from study.errors import StudyError


def test_each_onnx_export_equals_its_framework_on_the_test_period(stack):
    metrics = json.loads((stack.models / "metrics.json").read_text())
    assert set(metrics["onnx_agreement"]) == {"gbm", "logreg", "mlp"}
    for agreement in metrics["onnx_agreement"].values():
        assert agreement["rows_over_tolerance"] == 0 and agreement["max_abs_difference"] < 1e-4


def test_the_split_is_by_time_and_covers_every_transaction(stack):
    split = json.loads((stack.models / "metrics.json").read_text())["split"]
    assert split["train"] + split["validation"] + split["test"] == 284_807
    assert split["train"] > split["validation"] == pytest.approx(split["test"], abs=1)
    assert split["test_first_time_s"] > 0  # the test period starts well after the first transaction


def test_a_broken_model_file_is_refused(stack, tmp_path):
    broken = tmp_path / "build"
    shutil.copytree(stack.models, broken)
    (broken / "mlp.onnx").write_bytes((broken / "mlp.onnx").read_bytes()[:1000])
    with pytest.raises(StudyError, match=r"mlp\.onnx is not a working fraud model"):
        check_models(broken)
    check_models(stack.models)  # and the real build passes
