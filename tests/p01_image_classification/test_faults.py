"""Triton dies mid-run: 503 problem+json with Retry-After, then recovery without restarting the API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from study.local.image_classification.stack import Stack, running_stack

from polling import eventually
from study.metrics_page import metric_total
from system_tools import system_tool

from .conftest import prometheus_for


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, base_url_option) -> Iterator[Stack]:
    """A stack of its own: this test kills its Triton, which the other tests must not see."""
    if base_url_option:
        pytest.skip("kills a local Triton process")
    with running_stack(tmp_path_factory.mktemp("fault"), report=lambda _: None) as stack:
        yield stack


def classify(url: str, image: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/classify", files={"image": ("c.jpg", image, "image/jpeg")}, timeout=30)


async def traffic_across_a_kill(url: str, image: bytes, triton, clients: int = 4) -> list[tuple[bool, bool, int]]:
    """``clients`` loops send requests back to back while Triton is killed; each answer is recorded
    as (sent before the kill, answered after the kill, status). The loops stop once each has been
    answered after the kill, so the kill always lands among live traffic."""
    killed = asyncio.Event()
    answers: list[tuple[bool, bool, int]] = []

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            sent_before = not killed.is_set()
            response = await client.post(f"{url}/v1/classify", files={"image": ("c.jpg", image, "image/jpeg")})
            answers.append((sent_before, killed.is_set(), response.status_code))
            if killed.is_set() and not sent_before:
                return

    async with httpx.AsyncClient(timeout=30) as client:
        loops = [asyncio.create_task(client_loop(client)) for _ in range(clients)]
        deadline = time.monotonic() + 60
        while sum(status == 200 for *_, status in answers) < 2 * clients:  # traffic is flowing
            assert time.monotonic() < deadline and all(status == 200 for *_, status in answers), answers
            await asyncio.sleep(0.01)
        triton.kill()
        killed.set()
        await asyncio.wait_for(asyncio.gather(*loops), timeout=120)
    return answers


def test_triton_killed_mid_run_gives_503_then_recovers(own_stack, cat_jpeg):
    url = own_stack.url
    assert classify(url, cat_jpeg).status_code == 200
    metrics_url = f"{url}/metrics"
    unavailable_before = metric_total(metrics_url, "image_classification_backend_unavailable_total")

    answers = asyncio.run(traffic_across_a_kill(url, cat_jpeg, own_stack.triton))
    before = [status for sent_before, answered_after, status in answers if not answered_after]
    after = [status for sent_before, answered_after, status in answers if not sent_before]
    in_flight = [status for sent_before, answered_after, status in answers if sent_before and answered_after]
    assert before and set(before) == {200}  # served while Triton was up
    assert after and set(after) == {503}  # refused cleanly once it was gone
    # Caught mid-request by the kill: each finished before it or got a clean 503, never a 500.
    assert set(in_flight) <= {200, 503}
    refused = sum(status == 503 for *_, status in answers)

    # --8<-- [start:request-id]
    request_id = "fa17fa17fa17fa17fa17fa17fa17fa17"
    down = httpx.post(
        f"{url}/v1/classify",
        files={"image": ("c.jpg", cat_jpeg, "image/jpeg")},
        headers={"X-Request-ID": request_id},
        timeout=30,
    )
    assert down.status_code == 503
    assert down.headers["content-type"].startswith("application/problem+json")
    assert down.headers["Retry-After"] == "5"
    assert down.json()["type"] == "/problems/backend-unavailable" and down.json()["backend"] == "triton"
    ready = httpx.get(f"{url}/health/ready")
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    assert ready.json()["type"] == "/problems/not-ready"
    assert httpx.get(f"{url}/health/live").status_code == 200  # the API itself is alive
    # Each 503 for a classification was counted, and nothing else was.
    assert (
        metric_total(metrics_url, "image_classification_backend_unavailable_total") - unavailable_before == refused + 1
    )

    # The JSON log says why, under the request id the client sent.
    logged = [
        json.loads(line)
        for line in own_stack.service.log_path.read_text().splitlines()
        if line.startswith("{") and request_id in line
    ]
    assert {entry["logger"] for entry in logged} >= {"image_classification.api.problems", "image_classification.access"}
    assert any(entry.get("http", {}).get("status") == 503 for entry in logged)
    # --8<-- [end:request-id]

    own_stack.triton.start()  # same ports: as a restarted container would come back
    assert eventually(lambda: classify(url, cat_jpeg).status_code == 200), "API did not recover"
    assert httpx.get(f"{url}/health/ready").status_code == 200
    # The new Triton never heard of the service's shared-memory regions: they are registered again,
    # and the tensors go back to skipping the gRPC message.
    via_shared_memory = metric_total(metrics_url, "image_classification_tensor_transfers_total", via="shared_memory")
    assert classify(url, cat_jpeg).status_code == 200
    assert (
        metric_total(metrics_url, "image_classification_tensor_transfers_total", via="shared_memory")
        == via_shared_memory + 1
    )


def test_prometheus_sees_the_outage_as_the_alert_rules_expect(own_stack, cat_jpeg, tmp_path):
    """A real Prometheus with the project's rules: a dead Triton shows as `up == 0`, puts TritonDown in
    pending (it fires after its one minute), and its 503s spend error budget."""
    system_tool("prometheus", debian="prometheus")
    # --8<-- [start:prometheus-outage]
    prometheus = prometheus_for(own_stack, tmp_path)
    prometheus.start()
    try:
        assert eventually(lambda: len(prometheus.query("up == 1")) == 2)
        assert classify(own_stack.url, cat_jpeg).status_code == 200
        own_stack.triton.kill()
        assert {classify(own_stack.url, cat_jpeg).status_code for _ in range(5)} == {503}

        def triton_down_pending() -> bool:
            return any(
                alert["labels"]["alertname"] == "TritonDown" and alert["state"] == "pending"
                for alert in prometheus.alerts()
            )

        assert eventually(triton_down_pending, 30), prometheus.alerts()
        assert eventually(
            lambda: [
                s
                for s in prometheus.query("image_classification:classify_errors:ratio_rate5m")
                if float(s["value"][1]) > 0
            ],
            30,
        )
    # --8<-- [end:prometheus-outage]
    finally:
        prometheus.stop()
        own_stack.triton.start()
    assert eventually(lambda: classify(own_stack.url, cat_jpeg).status_code == 200), "API did not recover"
