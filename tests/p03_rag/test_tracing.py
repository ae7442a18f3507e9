"""OpenTelemetry traces: one trace per question, continuing the client's `traceparent`, with a span for
each pipeline stage under the server span; a failing stage is marked on its own span. Locally the
spans are read from the JSON-lines file the service's exporter writes (compose sends them to Jaeger)."""

from __future__ import annotations

import httpx
import pytest

from sse_events import read_events

from .traces import spans_of, traceparent

STAGES = ("embed question", "search chunks", "generate answer")


@pytest.fixture
def rag(stack, base_url_option):
    if base_url_option:
        pytest.skip("reads the local service's trace file")
    return stack


# --8<-- [start:trace-test]
def test_a_streamed_answer_is_one_trace_with_a_span_per_stage(rag):
    header, trace_id, client_span = traceparent()
    with httpx.stream(
        "POST",
        f"{rag.url}/v1/ask",
        headers={"traceparent": header},
        timeout=120,
        json={"question": "How does Triton's dynamic batching merge requests?", "mode": "generative"},
    ) as response:
        assert response.status_code == 200
        events = list(read_events(response))
    assert events[-1][1]["mode"] == "generated"

    spans = spans_of(rag, trace_id, {"POST /v1/ask", *STAGES})
    server = spans["POST /v1/ask"]
    assert server["parent_id"] == f"0x{client_span}"  # the trace continues the client's
    assert server["attributes"]["http.status_code"] == 200
    for stage in STAGES:  # each stage is a child of the request's span
        assert spans[stage]["parent_id"] == server["context"]["span_id"], stage
    embed, search, generate = (spans[stage] for stage in STAGES)
    assert embed["end_time"] <= search["start_time"] and search["end_time"] <= generate["start_time"]
    assert search["attributes"]["rag.hits"] == 5 and search["attributes"]["rag.best_score"] > 0.3
    assert generate["attributes"]["rag.mode"] == "generated" and generate["attributes"]["rag.tokens"] > 0
    assert [event["name"] for event in generate["events"]] == ["first token"]


# --8<-- [end:trace-test]


def test_an_off_topic_question_has_no_generate_span(rag):
    header, trace_id, _ = traceparent()
    response = httpx.post(
        f"{rag.url}/v1/ask",
        headers={"traceparent": header},
        timeout=120,
        json={"question": "What is a good recipe for banana bread?", "stream": False},
    )
    assert response.json()["mode"] == "not_covered"
    spans = spans_of(rag, trace_id, {"POST /v1/ask", "embed question", "search chunks"})
    assert spans["POST /v1/ask"]["attributes"]["rag.mode"] == "not_covered"
    # A child span ends before its parent, and spans are exported in the order they end: with the
    # request's own span out, a generate span, had there been one, is out too.
    assert "generate answer" not in spans


def test_a_dead_triton_is_marked_on_the_embed_span(rag):
    header, trace_id, _ = traceparent()
    rag.triton.kill()
    try:
        response = httpx.post(
            f"{rag.url}/v1/ask",
            headers={"traceparent": header},
            timeout=120,
            json={"question": "What is dynamic batching?", "stream": False},
        )
        assert response.status_code == 503
    finally:
        rag.triton.start()
    spans = spans_of(rag, trace_id, {"POST /v1/ask", "embed question"})
    embed = spans["embed question"]
    assert embed["status"]["status_code"] == "ERROR"
    assert [event["name"] for event in embed["events"]] == ["exception"]
    assert spans["POST /v1/ask"]["attributes"]["http.status_code"] == 503
    assert "search chunks" not in spans
