"""Project 09 fixtures: Triton (three sentiment models), PostgreSQL, the API and Prometheus,
started once per session; the held-out tweets; a helper that creates an experiment with a fresh
id. The controller's own loop is off here (the tests call /evaluate when they want it to look; one
test turns the loop on), and a state older than two seconds counts as cached."""

from __future__ import annotations

import itertools
import os
from typing import Any

import httpx
import pytest
from study.local.ab_platform.replay import shuffled
from study.local.ab_platform.stack import held_out, running_stack

from stack_fixtures import stack_fixtures

TEST_SETTINGS = {
    "controller_interval_s": "0",
    "stale_after_s": "2",
    "state_refresh_s": "0.5",
    "flush_interval_s": "0.5",
}

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, settings=TEST_SETTINGS), client_timeout_s=60
)
_ids = itertools.count()


@pytest.fixture(scope="session")
def tweets(stack) -> list[dict]:
    """The held-out tweets (no model choice saw them), in a fixed random order."""
    return shuffled(held_out(stack.models), seed=9)


def new_id(prefix: str) -> str:
    """Experiment ids unique within a session and across runs against one deployed stack."""
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


def create(client: httpx.Client, actor: str = "test", **spec: Any) -> dict:
    """An experiment: the lexicon against the MiniLM model, from shadow, unless ``spec`` says otherwise."""
    body = {"id": new_id("exp"), "reason": "a test", "control": "sentiment_lexicon", "candidates": ["sentiment_minilm"]}
    body.update(spec)
    response = client.post("/v1/experiments", json=body, headers={"X-Actor": actor})
    assert response.status_code == 201, response.text
    return response.json()


def ab_test(client: httpx.Client, **spec: Any) -> dict:
    """An experiment already at its A/B step (50/50), held there (an hour per step)."""
    return create(client, **{"start_stage": "canary", "ramp": [0.5, 1.0], "min_step_seconds": 3600, **spec})


def predict(client: httpx.Client, text: str, unit: str, experiment: str | None = None) -> dict:
    response = client.post("/v1/predict", json={"text": text, "unit_id": unit, "experiment": experiment})
    assert response.status_code == 200, response.text
    return response.json()
