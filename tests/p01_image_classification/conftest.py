"""Project 01 fixtures: one local stack (Triton on CPU + the API) for the whole session."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image
from study.local.image_classification.stack import PROJECT_DIR, Stack, running_stack

from stack_fixtures import stack_fixtures
from study.prometheus_local import LocalPrometheus


def jpeg_bytes(pixels: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None), client_timeout_s=30
)


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
        data_dir,
        PROJECT_DIR / "observability/prometheus.yml",
        targets={
            "api": stack.url.removeprefix("http://"),
            "triton": stack.triton.metrics_url.removeprefix("http://").removesuffix("/metrics"),
        },
    )
