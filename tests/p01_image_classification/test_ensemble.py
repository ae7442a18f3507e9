"""The ensemble efficientnet_lite0_uint8: Triton runs the scaling step and the network in one call.

Its answer must be the network's answer to the API's own tensor, bit for bit: a server-side step
that drifts from the service's preprocessing would make the model quietly worse."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import skimage.data
import tritonclient.grpc as grpcclient
from PIL import Image
from study.local.image_classification.stack import ENSEMBLE_NAME, MODEL_NAME
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from image_classification.services.preprocessing import center_crop, to_model_input

from .test_batching import triton_counter

PHOTOS = ("chelsea", "coffee", "rocket", "astronaut")


@pytest.fixture(scope="module")
def triton(stack) -> Iterator[grpcclient.InferenceServerClient]:
    client = grpcclient.InferenceServerClient(stack.triton.grpc_url)
    yield client
    client.close()


def infer(client: grpcclient.InferenceServerClient, model: str, name: str, array: np.ndarray) -> np.ndarray:
    tensor = grpcclient.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
    tensor.set_data_from_numpy(array)
    return client.infer(model, [tensor]).as_numpy("logits")


# --8<-- [start:parity]
def test_the_ensemble_gives_the_networks_answer_to_the_apis_tensor_bit_for_bit(triton):
    images = [Image.fromarray(getattr(skimage.data, name)()) for name in PHOTOS]
    crops = np.stack([center_crop(image) for image in images])  # uint8: what a client sends
    tensors = np.stack([to_model_input(image) for image in images])  # float32: what the API sends
    assert crops.nbytes * 4 == tensors.nbytes

    through_ensemble = infer(triton, ENSEMBLE_NAME, "image", crops)
    direct = infer(triton, MODEL_NAME, "input", tensors)
    # The response cache may answer the second call from the first's entry: Triton keys it on the
    # tensor's bytes, so that too happens only if the ensemble's scaling matched the API's exactly.
    assert np.array_equal(through_ensemble, direct)


# --8<-- [end:parity]


def test_one_ensemble_request_runs_both_steps(stack, triton):
    crop = center_crop(Image.fromarray(skimage.data.camera()))[None]

    def counts() -> tuple[float, float]:
        text = httpx.get(stack.triton.metrics_url).text
        return (
            triton_counter(text, "nv_inference_request_success", "normalize"),
            triton_counter(text, "nv_inference_request_success", ENSEMBLE_NAME),
        )

    before = counts()
    infer(triton, ENSEMBLE_NAME, "image", crop)
    after = counts()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_the_ensemble_refuses_float_input_before_running_anything(triton):
    wrong = np.zeros((1, 224, 224, 3), dtype=np.float32)
    with pytest.raises(InferenceServerException, match="UINT8"):
        infer(triton, ENSEMBLE_NAME, "image", wrong)
