"""The service's scores are the model's scores: compare with ONNX Runtime run directly."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image
from study.local.image_classification.stack import ensure_model

from image_classification.services.classifier import softmax
from image_classification.services.preprocessing import decode_image, to_model_input


@pytest.fixture(scope="module")
def onnx_session(stack) -> ort.InferenceSession:
    return ort.InferenceSession(str(ensure_model(lambda _: None)), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("photo", ["cat_jpeg", "coffee_jpeg", "rocket_jpeg"])
def test_service_scores_equal_onnx_runtime_on_the_same_input(photo, request, client, onnx_session):
    image_bytes = request.getfixturevalue(photo)
    tensor = to_model_input(decode_image(image_bytes, max_pixels=10**8))[None]
    (logits,) = onnx_session.run(["logits"], {"input": tensor})
    expected = softmax(logits)[0]

    body = client.post(
        "/v1/classify", params={"top_k": 10}, files={"image": ("p.jpg", image_bytes, "image/jpeg")}
    ).json()
    got = {p["class_id"]: p["score"] for p in body["predictions"]}
    assert list(got) == list(np.argsort(expected)[::-1][:10])
    for class_id, score in got.items():
        assert score == pytest.approx(float(expected[class_id]), abs=1e-5)


def test_preprocessing_matches_the_models_training_normalisation():
    white = Image.new("RGB", (300, 240), (255, 255, 255))
    buffer = io.BytesIO()
    white.save(buffer, "PNG")
    tensor = to_model_input(decode_image(buffer.getvalue(), max_pixels=10**8))
    assert tensor.shape == (3, 224, 224)
    assert tensor.dtype == np.float32
    assert np.allclose(tensor, (255 - 127) / 128)
