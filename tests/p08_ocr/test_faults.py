"""Backends that fail: Triton stopped gives 503 with Retry-After and the service is back by itself
when Triton is; the trace store stopped costs the traces of that time, never a request."""

from __future__ import annotations

from polling import eventually
from problem_details import assert_backend_unavailable, assert_problem

from .conftest import logged_trace_id, ocr


def unavailable_count(client) -> float:
    metrics = client.get("/metrics").text.splitlines()
    line = next(entry for entry in metrics if entry.startswith("ocr_backend_unavailable_total "))
    return float(line.split()[-1])


def test_triton_down_is_a_503_with_retry_after_and_the_service_recovers(stack, client, page_photo):
    before = unavailable_count(client)
    stack.triton.stop()
    try:
        assert_backend_unavailable(ocr(client, page_photo.image), "triton", retry_after_s=5)
        assert_problem(client.get("/health/ready"), 503, "not-ready")
        assert client.get("/health/live").status_code == 200
        assert unavailable_count(client) == before + 1
    finally:
        stack.triton.start()
    assert eventually(lambda: client.get("/health/ready").status_code == 200, timeout_s=60)
    assert ocr(client, page_photo.image).status_code == 200


def test_a_dead_trace_store_costs_traces_not_requests(stack, client, page_photo):
    stack.traces.stop()
    try:
        answers = [ocr(client, page_photo.image).status_code for _ in range(2)]
        assert answers == [200, 200]
    finally:
        stack.traces.start()
    answer = ocr(client, page_photo.image)
    assert answer.status_code == 200
    trace_id = logged_trace_id(stack, answer.headers["X-Request-ID"])
    assert eventually(lambda: len(stack.traces.trace(trace_id)) == 7, timeout_s=30)  # request + 6 stages
