"""Project 12 fixtures: a one-node Ray cluster with the LLM deployment on Ray Serve (replicas of
llama.cpp with SmolLM2, none until a request comes) and the router, started once per session;
helpers that wait for a replica count and send many requests at once."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from study.local.autoscaling.stack import running_stack

from stack_fixtures import stack_fixtures

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None), client_timeout_s=300
)

HELLO = {"messages": [{"role": "user", "content": "Say hello in five words."}], "max_tokens": 12}


def replicas_seen_after(stack, moment: float, timeout_s: float = 60) -> dict:
    """The replica counts from the monitor's first look after ``moment`` (a time.time()): the file's
    last line may be older than the answer a test just got, most of all on a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = stack.replicas_file.read_text().splitlines()
        fresh = [r["replicas"] for r in map(json.loads, lines) if r["t"] >= moment]
        if fresh:
            return fresh[0]
        time.sleep(0.2)
    raise AssertionError(f"the replica monitor wrote nothing for {timeout_s} s")


def wait_for_replicas(stack, count: int, timeout_s: float = 90) -> float:
    """Wait until exactly ``count`` replicas run and none is starting; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        states = stack.replicas()
        if states.get("RUNNING", 0) == count and not states.get("STARTING") and not states.get("STOPPING"):
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"replicas never settled at {count}: {stack.replicas()}")


def at_once(url: str, bodies: list[dict], timeout_s: float = 300) -> list[httpx.Response]:
    """Send every body at the same moment (one thread each); the answers in the same order."""

    def one(body: dict) -> httpx.Response:
        return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=timeout_s)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, bodies))
