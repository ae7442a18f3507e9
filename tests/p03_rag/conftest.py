"""Project 03 fixtures: Triton (embeddings), Milvus Lite, llama.cpp and the service, with the
course indexed, started once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from study.local.rag.stack import EVALUATION_SET, running_stack

from stack_fixtures import stack_fixtures

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, backend="llama.cpp"), client_timeout_s=120
)


@pytest.fixture(scope="session")
def evaluation_set_path() -> Path:
    return EVALUATION_SET
