"""The edge: the same service with the model file loaded into its own process (ONNX Runtime), no
Triton. It must answer as the Triton deployment does, refuse a model file that is not the one it
was given, and keep the API's contract (errors included)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from study.local.image_classification.stack import (
    MODEL_NAME,
    ensure_int8_model,
    ensure_model,
    sha256_of,
    start_edge_service,
)

from image_classification.onnx_runtime_client import (
    ModelFileRejected,
    OnnxRuntimeClassifier,
)
from problem_details import assert_problem
from study.processes import ManagedProcess


@pytest.fixture(scope="module")
def edge(tmp_path_factory, base_url_option) -> Iterator[ManagedProcess]:
    if base_url_option:
        pytest.skip("starts its own edge service")
    model = ensure_model(lambda _: None)  # the release records the digest of the file it ships
    service = start_edge_service(model, sha256_of(model), tmp_path_factory.mktemp("edge"))
    yield service
    service.stop()


@pytest.fixture(scope="module")
def edge_int8(tmp_path_factory, base_url_option) -> Iterator[ManagedProcess]:
    if base_url_option:
        pytest.skip("starts its own edge service")
    model = ensure_int8_model(lambda _: None)
    service = start_edge_service(model, sha256_of(model), tmp_path_factory.mktemp("edge-int8"))
    yield service
    service.stop()


def classify(url: str, image: bytes, k: int = 5) -> dict:
    response = httpx.post(
        f"{url}/v1/classify", params={"top_k": k}, timeout=30, files={"image": ("photo.jpg", image, "image/jpeg")}
    )
    assert response.status_code == 200, response.text
    return response.json()


# --8<-- [start:edge-parity-test]
def test_the_edge_answers_as_triton_does_with_the_same_model_file(edge, stack, cat_jpeg, coffee_jpeg):
    for image in (cat_jpeg, coffee_jpeg):
        on_triton, on_edge = classify(stack.url, image), classify(edge.url, image)
        assert [p["label"] for p in on_edge["predictions"]] == [p["label"] for p in on_triton["predictions"]]
        for a, b in zip(on_edge["predictions"], on_triton["predictions"], strict=False):
            assert b["score"] == pytest.approx(a["score"], abs=1e-5)
    assert on_edge["model"]["version"] == sha256_of(ensure_model(lambda _: None))[:12]  # the file is the version


# --8<-- [end:edge-parity-test]


def test_the_int8_build_at_the_edge_answers_close_to_float32(edge, edge_int8, cat_jpeg, coffee_jpeg, rocket_jpeg):
    for image in (cat_jpeg, coffee_jpeg, rocket_jpeg):
        fp32, int8 = classify(edge.url, image), classify(edge_int8.url, image)
        # Close, not equal: the cat's two best classes are within a hundredth of each other, and
        # int8 swaps them. Its best class is among float32's best three.
        assert int8["predictions"][0]["label"] in [p["label"] for p in fp32["predictions"][:3]]
        assert int8["model"]["version"] != fp32["model"]["version"]


def test_the_edge_keeps_the_contract_for_bad_input(edge):
    response = httpx.post(f"{edge.url}/v1/classify", files={"image": ("x.jpg", b"not an image", "image/jpeg")})
    assert_problem(response, 422, "invalid-image")
    assert httpx.get(f"{edge.url}/health/ready").status_code == 200


# --8<-- [start:edge-checksum-test]
def test_a_model_file_that_is_not_the_expected_one_is_refused(tmp_path):
    model = ensure_model(lambda _: None)
    shipped = sha256_of(model)  # recorded when the file was released
    truncated = tmp_path / "model.onnx"
    truncated.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # a download cut short
    with pytest.raises(ModelFileRejected, match="expected"):
        OnnxRuntimeClassifier(truncated, shipped, threads=1, model_name=MODEL_NAME)
    with pytest.raises(ModelFileRejected, match="no model file"):
        OnnxRuntimeClassifier(tmp_path / "missing.onnx", None, threads=1, model_name=MODEL_NAME)
    shutil.copy(model, tmp_path / "good.onnx")
    assert OnnxRuntimeClassifier(tmp_path / "good.onnx", shipped, 1, MODEL_NAME).version == shipped[:12]


# --8<-- [end:edge-checksum-test]
