"""Project 08 fixtures: Triton on CPU with the PP-OCR models, the trace store, the API, Prometheus
and Alertmanager, started once per session; the evaluation set's images."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from study.local.ocr import evaluation
from study.local.ocr.stack import running_stack

from stack_fixtures import stack_fixtures

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None), client_timeout_s=120
)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def page_photo() -> evaluation.Sample:
    """scikit-image's photographed book page, with its hand transcription."""
    return evaluation.photo_samples()[0]


@pytest.fixture(scope="session")
def rendered() -> list[evaluation.Sample]:
    return evaluation.rendered_samples()


def ocr(client, data: bytes, name: str = "page.png", content_type: str = "image/png", **params):
    return client.post("/v1/ocr", params=params, files={"file": (name, data, content_type)})


def log_lines(stack, request_id: str) -> list[dict]:
    """The API's JSON log lines for one request (its X-Request-ID)."""
    lines = (stack.run_dir / "logs" / "api.log").read_text().splitlines()
    return [entry for line in lines if line.startswith("{") and (entry := json.loads(line))["request_id"] == request_id]


def logged_trace_id(stack, request_id: str) -> str:
    """The trace id the request's log lines carry (one trace per request)."""
    (trace_id,) = {entry["trace_id"] for entry in log_lines(stack, request_id) if "trace_id" in entry}
    return trace_id
