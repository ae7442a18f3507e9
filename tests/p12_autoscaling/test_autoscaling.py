"""The autoscaling behaviours, with real traffic on the real engine: a request that finds no
replica waits for one and succeeds; a burst scales out to the maximum and no further; beyond the
queue, 429 with Retry-After; idle, back to zero. No timing decides a test: what is checked is what
the replica monitor saw and what the clients got."""

from __future__ import annotations

import json
import time

import httpx

from .conftest import HELLO, at_once, replicas_seen_after, wait_for_replicas


def replica_history(stack, since: float) -> list[dict]:
    lines = stack.replicas_file.read_text().splitlines()
    return [r["replicas"] for r in map(json.loads, lines) if r["t"] >= since]


# --8<-- [start:cold]
def test_from_zero_the_first_request_waits_for_a_replica_and_succeeds(stack):
    wait_for_replicas(stack, 0, timeout_s=stack.policy.downscale_to_zero_delay_s + 60)
    sent = time.time()
    answer = httpx.post(f"{stack.url}/v1/chat/completions", json=HELLO, timeout=300)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]
    seen = replica_history(stack, sent)
    assert seen[0].get("RUNNING", 0) == 0  # nothing ran when it was sent: it waited for a replica
    assert any(states.get("STARTING") for states in seen)  # and one was started for it
    assert replicas_seen_after(stack, time.time()).get("RUNNING", 0) >= 1  # and it is still up


# --8<-- [end:cold]


def test_a_burst_scales_out_to_the_maximum_and_no_further_and_overflow_gets_429(stack):
    sent = time.time()
    long_answers = {**HELLO, "max_tokens": 96}
    answers = at_once(stack.url, [long_answers] * 24)
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.count(200) >= stack.policy.max_ongoing_requests
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "24 at once against at most 2 replicas x (2 running + 8 queued) should overflow"
    assert refused[0].json()["type"] == "/problems/overloaded" and int(refused[0].headers["Retry-After"]) >= 1
    seen = replica_history(stack, sent)
    peak = max(s.get("RUNNING", 0) + s.get("STARTING", 0) for s in seen)
    assert peak == stack.policy.max_replicas, seen


def test_idle_scales_back_to_zero(stack):
    at_once(stack.url, [HELLO] * 4)
    assert replicas_seen_after(stack, time.time()).get("RUNNING", 0) >= 1  # at least one replica is up
    wait_for_replicas(stack, 0, timeout_s=stack.policy.downscale_delay_s + stack.policy.downscale_to_zero_delay_s + 60)
    assert httpx.get(f"{stack.url}/health/ready", timeout=10).status_code == 200  # zero replicas is still ready
