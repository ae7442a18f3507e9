"""Traces and logs that lead to each other: every request is one trace in the trace store (a server
span, a child span per pipeline stage), and every log line written for it carries that trace's id
and the request id."""

from __future__ import annotations

from ocr.metrics import STAGES
from polling import eventually

from .conftest import log_lines, logged_trace_id, ocr


def test_a_request_is_one_trace_with_a_span_per_stage(stack, client, page_photo):
    answer = ocr(client, page_photo.image)
    assert answer.status_code == 200
    trace_id = logged_trace_id(stack, answer.headers["X-Request-ID"])
    assert eventually(lambda: len(stack.traces.trace(trace_id)) == 7, timeout_s=30)
    spans = sorted(stack.traces.trace(trace_id), key=lambda s: s["start_time"])
    (root,) = [s for s in spans if s["parent_id"] is None]
    assert root["name"] == "POST /v1/ocr"
    children = [s for s in spans if s["parent_id"] == root["context"]["span_id"]]
    assert [s["name"] for s in children] == list(STAGES)  # in the order they ran
    detect = next(s for s in children if s["name"] == "detect")
    assert detect["attributes"]["model"] == "text_detection" and detect["attributes"]["boxes"] == 7
    assert all(root["start_time"] <= s["start_time"] and s["end_time"] <= root["end_time"] for s in children)


def test_log_lines_carry_the_trace_and_span_of_their_request(stack, client, page_photo):
    answer = ocr(client, page_photo.image)
    request_id = answer.headers["X-Request-ID"]
    entries = log_lines(stack, request_id)
    assert {e["logger"] for e in entries} >= {"ocr.pipeline", "ocr.access"}
    trace_id = logged_trace_id(stack, request_id)
    assert eventually(lambda: len(stack.traces.trace(trace_id)) == 7, timeout_s=30)
    span_ids = {s["context"]["span_id"] for s in stack.traces.trace(trace_id)}
    assert all(e["span_id"] in span_ids for e in entries)


def test_health_probes_and_scrapes_are_not_traced(stack, client, page_photo):
    for _ in range(3):
        client.get("/health/ready")
        client.get("/metrics")  # Prometheus scrapes it every second too
    answer = ocr(client, page_photo.image)  # a traced request after them, to know their spans are in
    trace_id = logged_trace_id(stack, answer.headers["X-Request-ID"])
    assert eventually(lambda: len(stack.traces.trace(trace_id)) == 7, timeout_s=30)
    names = {s["name"] for s in stack.traces.spans(limit=100)}
    assert "POST /v1/ocr" in names
    assert not {n for n in names if n.startswith("GET")}, names
