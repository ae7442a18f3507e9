"""Backends die: Milvus or Triton down -> 503 with Retry-After; the LLM down -> an answer from
retrieval alone, flagged as such. Each comes back without restarting the service."""

from __future__ import annotations

import httpx
import pytest

from polling import eventually
from problem_details import assert_backend_unavailable

from .traces import spans_of, traceparent

QUESTION = "How does Triton's dynamic batching merge requests?"


@pytest.fixture
def rag(stack, base_url_option):
    if base_url_option:
        pytest.skip("kills local backend processes")
    return stack


def ask(url: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/ask", json={"question": QUESTION, "stream": False, "k": 2, "mode": "generative"}, timeout=120
    )


def test_milvus_down_is_503_then_recovers(rag):
    rag.milvus.kill()
    try:
        assert_backend_unavailable(ask(rag.url), "milvus", retry_after_s=2)
        assert_backend_unavailable(httpx.get(f"{rag.url}/v1/search", params={"q": QUESTION}, timeout=60), "milvus")
        assert_backend_unavailable(
            httpx.post(
                f"{rag.url}/v1/documents", timeout=60, files={"file": ("x.md", b"# X\n\nxylophones", "text/markdown")}
            ),
            "milvus",
            retry_after_s=2,
        )
        assert httpx.get(f"{rag.url}/health/ready").status_code == 503
        assert httpx.get(f"{rag.url}/health/live").status_code == 200
    finally:
        rag.milvus.start()  # same port, same data directory
    assert eventually(lambda: ask(rag.url).status_code == 200)
    assert ask(rag.url).json()["citations"], "the index survived the restart"


def test_triton_down_is_503_then_recovers(rag):
    rag.triton.kill()
    try:
        assert_backend_unavailable(ask(rag.url), "triton", retry_after_s=2)
        assert httpx.get(f"{rag.url}/health/ready").status_code == 503
    finally:
        rag.triton.start()
    assert eventually(lambda: ask(rag.url).status_code == 200)


def test_llm_down_answers_from_retrieval_alone(rag):
    header, trace_id, _ = traceparent()
    rag.llm.kill()
    try:
        response = httpx.post(
            f"{rag.url}/v1/ask",
            json={"question": QUESTION, "stream": False, "k": 2, "mode": "generative"},
            headers={"traceparent": header},
            timeout=120,
        )
        assert response.status_code == 200
        body = response.json()
        assert body["mode"] == "retrieval_only"
        assert len(body["citations"]) == 2 and body["citations"][0]["url"]
        assert "unavailable" in body["answer"]
        ready = httpx.get(f"{rag.url}/health/ready").json()
        assert ready == {"status": "ready", "llm": "down"}
        # The trace says which stage failed, on that stage's span.
        generate = spans_of(rag, trace_id, {"generate answer"})["generate answer"]
        assert generate["status"]["status_code"] == "ERROR"
        assert generate["attributes"]["rag.mode"] == "retrieval_only"
        # The default, extractive answer needs no LLM: it still quotes the course.
        quoted = httpx.post(f"{rag.url}/v1/ask", json={"question": QUESTION, "stream": False}, timeout=120).json()
        assert quoted["mode"] == "extracted" and quoted["answer"].startswith("“")
    finally:
        rag.llm.start()
    assert eventually(lambda: ask(rag.url).json()["mode"] == "generated")
