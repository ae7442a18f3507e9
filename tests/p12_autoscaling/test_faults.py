"""Faults: a replica's model server killed mid-answer (only its own streams fail, cleanly, and Ray
replaces it), a replica that cannot start (backoff, then 503: not a storm of restarts), and Ray's
head process restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from polling import eventually

from .conftest import HELLO, at_once, wait_for_replicas


def model_servers() -> list[int]:
    """The model servers this deployment's replicas started (children of Ray Serve replicas; other
    projects' llama.cpp servers in the same session are not)."""
    done = subprocess.run(["pgrep", "-f", "llama_cpp.server"], capture_output=True, text=True)
    ours = []
    for pid in map(int, done.stdout.split()):
        try:
            parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
            if "ServeReplica" in Path(f"/proc/{parent}/cmdline").read_text(errors="replace"):
                ours.append(pid)
        except OSError:
            continue
    return ours


def stream(url: str, results: list, index: int) -> None:
    body = {**HELLO, "max_tokens": 200, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=300) as answer:
        results[index] = [line for line in answer.iter_lines() if line]


# --8<-- [start:kill]
def test_a_replica_killed_mid_stream_fails_only_its_own_streams(stack):
    at_once(stack.url, [{**HELLO, "max_tokens": 64}] * 8)  # two replicas up
    assert eventually(lambda: stack.running() == 2, timeout_s=60)
    results: list = [None] * 4
    threads = [threading.Thread(target=stream, args=(stack.url, results, i)) for i in range(4)]
    for thread in threads:
        thread.start()
    assert eventually(lambda: len(model_servers()) == 2, timeout_s=30)
    time.sleep(0.5)  # the streams have begun
    os.kill(model_servers()[0], signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=300)
    finished = [r for r in results if r and r[-1] == "data: [DONE]"]
    broken = [r for r in results if r and r[-2:][0].startswith("event: error")]
    assert len(finished) + len(broken) == 4, results  # every stream ended one way or the other
    assert finished, "the other replica's streams went on"
    for lines in broken:
        assert "stream-interrupted" in lines[-1]
    assert httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=300).status_code == 200
    # Ray's health check finds the dead server and replaces its replica: every running replica has one.
    assert eventually(lambda: stack.running() >= 1 and len(model_servers()) == stack.running(), timeout_s=90)


# --8<-- [end:kill]


def test_a_replica_that_cannot_start_backs_off_and_the_request_gets_503(stack, tmp_path):
    attempts = tmp_path / "attempts"
    broken = stack.replica.model_copy(
        update={"command": [sys.executable, "-c", f"open({str(attempts)!r}, 'a').write('x'); raise SystemExit(3)"],
                "max_start_attempts": 3}
    )  # fmt: skip
    good = stack.replica
    stack.redeploy(replica=broken)
    try:
        # Ray retries the start a bounded number of times, with backoff, and keeps the request queued;
        # the router gives up on it after its request timeout (a minute here) and answers 503.
        answer = httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=300)
        assert answer.status_code == 503 and answer.json()["backend"] == "llm", answer.text
        assert int(answer.headers["Retry-After"]) > 0
        tries = len(attempts.read_text())
        assert 1 <= tries <= 3 + 1  # the configured attempts (and one for the request), not a storm
    finally:
        stack.redeploy(replica=good)
    assert httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=300).status_code == 200


def test_rays_head_restarted_the_service_answers_503_then_recovers(stack):
    stack.ray.stop()
    try:
        down = httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=60)
        assert down.status_code == 503 and down.json()["backend"] == "llm"
        assert httpx.get(f"{stack.url}/health/ready", timeout=10).status_code == 503
    finally:
        stack.restart_head()
    assert httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=300).status_code == 200
    wait_for_replicas(stack, 1, timeout_s=60)
