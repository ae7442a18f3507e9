"""Project 01 fixtures: one local stack (Triton on CPU + the API) for the whole session."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import skimage.data
from PIL import Image

from study.prometheus_local import LocalPrometheus
from study.stacks.image_classification import PROJECT_DIR, Stack, running_stack


def jpeg_bytes(pixels: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory, base_url_option) -> Iterator[Stack | None]:
    if base_url_option:
        yield None
        return
    with running_stack(tmp_path_factory.mktemp("image-classification"), report=lambda _: None) as stack:
        yield stack


@pytest.fixture(scope="session")
def stack(local_stack: Stack | None) -> Stack:
    """For tests that need the local processes (Triton metrics, the model file)."""
    if local_stack is None:
        pytest.skip("needs the local stack, not --base-url")
    return local_stack


@pytest.fixture(scope="session")
def base_url(local_stack: Stack | None, base_url_option) -> str:
    return base_url_option or local_stack.url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def cat_jpeg() -> bytes:
    """scikit-image's photo of Chelsea the cat (ships inside the package)."""
    return jpeg_bytes(skimage.data.chelsea())


@pytest.fixture(scope="session")
def coffee_jpeg() -> bytes:
    return jpeg_bytes(skimage.data.coffee())


@pytest.fixture(scope="session")
def rocket_jpeg() -> bytes:
    return jpeg_bytes(skimage.data.rocket())


def prometheus_for(stack: Stack, data_dir) -> LocalPrometheus:
    """A real Prometheus with the compose config and alert rules, scraping this local stack."""
    return LocalPrometheus(
        data_dir, PROJECT_DIR / "observability/prometheus.yml",
        targets={"api": stack.url.removeprefix("http://"),
                 "triton": stack.triton.metrics_url.removeprefix("http://").removesuffix("/metrics")})
