"""The gateway under real failures: SIGKILL while devices send and while a batch is in flight, a
cloud that is down, failing, rate-limiting or slow, and a full disk. After each: the database is
intact, every accepted result is there, and the cloud holds each exactly once."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx

from polling import eventually

from .conftest import cloud_keys, cloud_stats, frame, send, set_fault


def drained(stack, client) -> bool:
    return client.get("/v1/status").json()["outbox_entries"] == 0


def accepted_are_in_the_cloud_once(stack, accepted: list[str]) -> bool:
    keys = cloud_keys(stack)
    return len(keys) == len(set(keys)) and set(accepted) <= set(keys)


def send_many(stack, start: int, count: int, threads: int = 4) -> tuple[list[str], int]:
    """Devices sending distinct frames concurrently; the ids the gateway acknowledged, and how many
    requests got no answer (the gateway died under them)."""
    accepted: list[str] = []
    failed = 0
    lock = threading.Lock()

    def worker(offset: int) -> None:
        nonlocal failed
        with httpx.Client(base_url=stack.url, timeout=30) as c:
            for i in range(start + offset, start + count, threads):
                try:
                    response = send(c, stack, frame(i))
                except httpx.HTTPError:
                    with lock:
                        failed += 1
                    continue
                if response.status_code == 200:
                    with lock:
                        accepted.append(response.json()["result_id"])

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return accepted, failed


def test_sigkill_during_heavy_ingest_loses_no_accepted_result(stack, client):
    results: dict[str, object] = {}
    sender = threading.Thread(
        target=lambda: results.update(zip(("accepted", "failed"), send_many(stack, 1000, 80), strict=False))
    )
    sender.start()
    time.sleep(2.0)
    stack.kill_gateway()  # SIGKILL: no shutdown, no flush
    sender.join()
    database = stack.dir / "gateway" / "gateway.sqlite3"
    assert sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stack.start_gateway()
    accepted = results["accepted"]
    assert accepted, "nothing was accepted before the kill: the test proved nothing"
    for result_id in accepted:
        assert client.get(f"/v1/results/{result_id}").status_code == 200
    assert eventually(lambda: drained(stack, client), timeout_s=60)
    assert eventually(lambda: accepted_are_in_the_cloud_once(stack, accepted), timeout_s=30)


def test_sigkill_during_a_sync_forwards_nothing_twice(stack, client):
    set_fault(stack, "slow", delay_s=3)
    try:
        accepted, _ = send_many(stack, 1200, 30)
        arrivals = cloud_stats(stack)["arrivals"]
        time.sleep(1.5)  # a batch is in flight, held by the slow cloud
        stack.kill_gateway()
        time.sleep(2.0)  # the cloud commits the batch the dead gateway never saw acknowledged
    finally:
        set_fault(stack, "ok")
    stack.start_gateway()
    assert eventually(lambda: drained(stack, client), timeout_s=60)
    assert accepted_are_in_the_cloud_once(stack, accepted)
    # The batch was sent twice (the acknowledgement died with the gateway); the cloud kept one copy.
    assert cloud_stats(stack)["arrivals"] - arrivals >= len(accepted)


def test_a_partition_then_recovery_drains_the_outbox_exactly_once(stack, client):
    stack.cloud.stop()
    try:
        accepted, _ = send_many(stack, 1300, 40)
        time.sleep(2)
        status = client.get("/v1/status").json()
        assert status["outbox_entries"] >= len(accepted)  # offline is the normal mode: all kept
        assert 'edge_sync_failures_total{reason="unreachable"}' in client.get("/metrics").text
    finally:
        stack.cloud.start()
    assert eventually(lambda: drained(stack, client), timeout_s=60)
    assert accepted_are_in_the_cloud_once(stack, accepted)


def test_errors_and_rate_limits_are_waited_out(stack, client):
    for mode in ("error", "rate_limited"):
        set_fault(stack, mode, retry_after_s=1)
        try:
            accepted, _ = send_many(stack, 1400 + (100 if mode == "error" else 0), 20)
            time.sleep(3)
            assert client.get("/v1/status").json()["outbox_entries"] >= len(accepted)
        finally:
            set_fault(stack, "ok")
        assert eventually(lambda: drained(stack, client), timeout_s=60)
        assert accepted_are_in_the_cloud_once(stack, accepted)
    metrics = client.get("/metrics").text
    assert 'edge_sync_failures_total{reason="status"}' in metrics


def test_a_full_disk_is_reported_and_does_not_crash_the_gateway(stack, client):
    size = (stack.dir / "gateway" / "gateway.sqlite3").stat().st_size
    stack.stop_gateway()
    stack.start_gateway(wait_for="live", max_db_bytes=str(size))  # the database may not grow: a full disk
    try:
        # Pages freed by forwarded outbox entries are reused first; then the database is full.
        for i in range(600):
            refused = send(client, stack, frame(1500 + i))
            if refused.status_code != 200:
                break
        assert refused.status_code == 503 and refused.json()["type"] == "/problems/storage-unavailable"
        assert refused.headers["Retry-After"]
        ready = client.get("/health/ready")
        assert ready.status_code == 503 and "writable storage" in ready.json()["detail"]
        assert "edge_storage_writable 0.0" in client.get("/metrics").text
        assert client.get("/health/live").status_code == 200  # alive: a restart would not help
    finally:
        stack.stop_gateway()
        stack.start_gateway()
    assert send(client, stack, frame(2200)).status_code == 200
