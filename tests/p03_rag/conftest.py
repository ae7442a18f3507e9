"""Project 03 fixtures: Triton (embeddings), Milvus Lite, llama.cpp and the service, with the
course indexed, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from study.stacks.rag import EVALUATION_SET, RagStack, running_stack


@pytest.fixture(scope="session")
def local_rag(tmp_path_factory, base_url_option) -> Iterator[RagStack | None]:
    if base_url_option:
        yield None
        return
    with running_stack(tmp_path_factory.mktemp("rag"), report=lambda _: None, backend="llama.cpp") as stack:
        yield stack


@pytest.fixture(scope="session")
def rag_stack(local_rag) -> RagStack:
    if local_rag is None:
        pytest.skip("needs the local stack, not --base-url")
    return local_rag


@pytest.fixture(scope="session")
def rag_url(local_rag, base_url_option) -> str:
    return base_url_option or local_rag.url


@pytest.fixture
def client(rag_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rag_url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def evaluation_set_path() -> Path:
    return EVALUATION_SET
