"""The exported model is accepted by what it does (signature, golden photos), never by its bytes:
the same recipe gives other bytes on another CPU or with other library builds, and stays right."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from study.local.image_classification.stack import check_model, ensure_model

from study.errors import StudyError
from study.paths import REPO_ROOT


@pytest.fixture(scope="module")
def built_model():
    return ensure_model(lambda _: None)


def test_the_built_model_passes_its_behaviour_check(built_model):
    check_model(built_model)  # raises if it did not


# --8<-- [start:perturbed-test]
def test_an_export_with_perturbed_weights_is_refused(built_model, tmp_path):
    graph = onnx.load(str(built_model))
    noise = np.random.default_rng(0)
    for weights in graph.graph.initializer:
        values = numpy_helper.to_array(weights)
        if values.dtype == np.float32 and values.size > 1000:  # the convolutions, not the shapes
            perturbed = values + noise.normal(0, values.std(), values.shape).astype(np.float32)
            weights.CopyFrom(numpy_helper.from_array(perturbed, weights.name))
    wrong = tmp_path / "model.onnx"
    onnx.save(graph, str(wrong))
    with pytest.raises(StudyError, match="classifies the golden photos wrongly"):
        check_model(wrong)


# --8<-- [end:perturbed-test]


def test_a_file_that_is_not_a_model_or_has_another_signature_is_refused(built_model, tmp_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(built_model.read_bytes()[:100_000])
    with pytest.raises(StudyError, match="not a loadable ONNX model"):
        check_model(truncated)
    graph = onnx.load(str(built_model))
    graph.graph.input[0].name = "pixels"  # the service sends "input"
    for node in graph.graph.node:
        node.input[:] = ["pixels" if name == "input" else name for name in node.input]
    renamed = tmp_path / "renamed.onnx"
    onnx.save(graph, str(renamed))
    with pytest.raises(StudyError, match="signature"):
        check_model(renamed)


def test_no_checksum_of_a_locally_built_artifact_is_committed():
    """Byte checksums belong to files that are shipped as they are (a package's weights), not to
    what the reader's machine builds."""
    tracked = subprocess.run(
        ["git", "ls-files", "*.sha256", "**/*.sha256"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == []
