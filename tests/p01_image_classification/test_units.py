"""Unit tests of the pure logic: config derivation, scores, preprocessing edge cases."""

from __future__ import annotations

import io

import numpy as np
import pytest
from google.protobuf import text_format
from PIL import Image
from study.local.image_classification.stack import ENSEMBLE_NAME, MODEL_NAME, PROJECT_DIR
from tritonclient.grpc import model_config_pb2 as mc

from image_classification.services.classifier import softmax, top_k
from image_classification.services.preprocessing import (
    ImageTooLarge,
    InvalidImage,
    decode_image,
    to_model_input,
)
from study.triton_local import build_cpu_repository, cpu_twin_config

PRODUCTION_CONFIG = (PROJECT_DIR / "model_repository/efficientnet_lite0/config.pbtxt").read_text()


def parse(text: str) -> mc.ModelConfig:
    return text_format.Parse(text, mc.ModelConfig())


def test_cpu_twin_keeps_name_tensors_and_batching_and_changes_only_backend_and_device():
    production, twin = parse(PRODUCTION_CONFIG), parse(cpu_twin_config(PRODUCTION_CONFIG))
    assert production.platform == "onnxruntime_onnx"
    assert production.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    assert twin.backend == "python" and not twin.platform
    assert twin.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    for field in ("name", "max_batch_size", "input", "output", "dynamic_batching"):
        assert getattr(twin, field) == getattr(production, field), field


def test_cpu_twin_without_batching_has_no_batcher_but_keeps_the_batch_axis():
    twin = parse(cpu_twin_config(PRODUCTION_CONFIG, dynamic_batching=False))
    assert not twin.HasField("dynamic_batching")
    assert twin.max_batch_size == 32


def test_cpu_twin_refuses_models_it_cannot_run():
    with pytest.raises(ValueError):
        cpu_twin_config('name: "m"\nplatform: "tensorrt_plan"\n')


def test_local_repository_twins_the_onnx_model_and_copies_the_ensemble_and_its_step(tmp_path):
    built = tmp_path / "model.onnx"  # the path the twin links to; Triton is not started here
    repository = build_cpu_repository(PROJECT_DIR / "model_repository", {MODEL_NAME: built}, tmp_path / "repo")
    assert sorted(p.name for p in repository.iterdir()) == sorted([MODEL_NAME, ENSEMBLE_NAME, "normalize"])
    assert parse((repository / MODEL_NAME / "config.pbtxt").read_text()).backend == "python"
    assert (repository / MODEL_NAME / "1" / "model.onnx").resolve() == built.resolve()
    assert (repository / "normalize/1/model.py").read_text() == (
        PROJECT_DIR / "model_repository/normalize/1/model.py"
    ).read_text()
    assert (repository / ENSEMBLE_NAME / "1").is_dir() and not any((repository / ENSEMBLE_NAME / "1").iterdir())


def test_local_repository_refuses_an_onnx_model_without_its_file(tmp_path):
    with pytest.raises(ValueError, match=MODEL_NAME):
        build_cpu_repository(PROJECT_DIR / "model_repository", {}, tmp_path / "repo")


def test_cpu_config_for_compose_differs_from_production_only_in_device():
    cpu = parse((PROJECT_DIR / "model_repository/efficientnet_lite0/configs/cpu.pbtxt").read_text())
    production = parse(PRODUCTION_CONFIG)
    assert cpu.instance_group[0].kind == mc.ModelInstanceGroup.KIND_CPU
    cpu.ClearField("instance_group")
    production.ClearField("instance_group")
    assert cpu == production


def test_tensorrt_config_differs_from_production_only_in_its_accelerator():
    trt = parse((PROJECT_DIR / "model_repository/efficientnet_lite0/configs/gpu-tensorrt-fp16.pbtxt").read_text())
    production = parse(PRODUCTION_CONFIG)
    (accelerator,) = trt.optimization.execution_accelerators.gpu_execution_accelerator
    assert accelerator.name == "tensorrt" and accelerator.parameters["precision_mode"] == "FP16"
    assert trt.instance_group[0].kind == mc.ModelInstanceGroup.KIND_GPU
    trt.ClearField("optimization")
    assert trt == production


def test_softmax_is_a_distribution_and_stable_for_large_logits():
    probabilities = softmax(np.array([[1000.0, 1001.0, 999.0], [0.0, 0.0, 0.0]]))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.all(np.isfinite(probabilities))
    assert np.allclose(probabilities[1], 1 / 3)


def test_top_k_orders_by_score_and_names_imagenet_classes():
    probabilities = np.zeros(1000)
    probabilities[[285, 281, 967]] = [0.5, 0.3, 0.2]
    best = top_k(probabilities, 3)
    assert [s.class_id for s in best] == [285, 281, 967]
    assert best[0].label == "Egyptian cat" and best[2].label == "espresso"


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(224, 224), (640, 120), (50, 900), (10, 10)])
def test_any_aspect_ratio_becomes_a_224_square(size):
    tensor = to_model_input(decode_image(encode(Image.new("RGB", size, (0, 128, 255)), "PNG"), 10**8))
    assert tensor.shape == (3, 224, 224)
    assert np.allclose(tensor[:, 100, 100], [(0 - 127) / 128, (128 - 127) / 128, (255 - 127) / 128])


def test_decode_refuses_what_it_cannot_read():
    with pytest.raises(InvalidImage):
        decode_image(b"", 10**8)
    with pytest.raises(InvalidImage):
        decode_image(b"GIF89a-but-not-really", 10**8)
    with pytest.raises(ImageTooLarge):
        decode_image(encode(Image.new("L", (1000, 1000)), "PNG"), max_pixels=999_999)


def test_decode_refuses_formats_outside_the_allow_list():
    with pytest.raises(InvalidImage, match="not accepted"):
        decode_image(encode(Image.new("RGB", (8, 8)), "ICO"), 10**8)
