"""Project 10 fixtures: the model files, Mosquitto, the cloud and the gateway, started once per
session; devices that sign what they send; camera frames."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import skimage.data
from PIL import Image
from study.local.edge_gateway.stack import device_client as load_device_client
from study.local.edge_gateway.stack import running_stack

from stack_fixtures import stack_fixtures

local_stack, stack, base_url, client = stack_fixtures(lambda run_dir: running_stack(run_dir, report=lambda _: None))

device_client = load_device_client()  # the reader's client.py: how a device signs


def jpeg(array: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def cat() -> bytes:
    return jpeg(skimage.data.chelsea())


@pytest.fixture(scope="session")
def coffee() -> bytes:
    return jpeg(skimage.data.coffee())


def frame(i: int) -> bytes:
    """A distinct frame of the same scene (a crop shifted by i pixels): never a cache hit."""
    photo = skimage.data.chelsea()
    top, left = divmod(i % 1600, 40)
    return jpeg(photo[top : top + 260, left : left + 400])


def send(client: httpx.Client, stack, image: bytes, device: str = "camera-entrance", **headers: str) -> httpx.Response:
    signed = device_client.signed(device, stack.device_keys.get(device, "0" * 32), image)
    return client.post("/v1/classify", files={"image": ("image.jpg", image)}, headers={**signed, **headers})


def cloud_stats(stack) -> dict:
    return httpx.get(f"{stack.cloud.url}/v1/results/stats").json()


def cloud_keys(stack, kind: str = "result") -> list[str]:
    return httpx.get(f"{stack.cloud.url}/v1/results/keys", params={"kind": kind}).json()


def set_fault(stack, mode: str, **options) -> None:
    httpx.post(f"{stack.cloud.url}/admin/fault", json={"mode": mode, **options}).raise_for_status()
