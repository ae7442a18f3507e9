"""Drive an experiment with labelled tweets as traffic: each tweet is a request from its own user,
its true label comes back as feedback a few requests later (labels arrive late in real life), and
the controller looks every ``look_every`` requests. Returns when the experiment finishes or the
tweets run out, with the decisions and the request at which each was made.

The benchmark replays the held-out set through two experiments; the tests use shorter runs."""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import httpx


def shuffled(tweets: list[dict], seed: int) -> list[dict]:
    """The held-out file is ordered by label; traffic is not."""
    out = list(tweets)
    random.Random(seed).shuffle(out)
    return out


# --8<-- [start:drive]
def drive(
    client: httpx.Client,
    spec: dict[str, Any],
    tweets: list[dict],
    look_every: int = 50,
    feedback_delay: int = 20,
    unit_prefix: str = "user",
) -> dict[str, Any]:
    """Create the experiment, send the tweets, and record every decision the controller makes."""
    created = client.post("/v1/experiments", json=spec, headers={"X-Actor": "replay"})
    created.raise_for_status()
    experiment = spec["id"]
    waiting: deque[tuple[str, str]] = deque()  # (prediction id, true label) not yet given back
    decisions: list[dict[str, Any]] = []
    served: dict[str, int] = {}
    sent = 0
    for sent, tweet in enumerate(tweets, start=1):
        answer = client.post(
            "/v1/predict", json={"text": tweet["text"], "unit_id": f"{unit_prefix}-{sent}", "experiment": experiment}
        )
        answer.raise_for_status()
        body = answer.json()
        served[body["model"]] = served.get(body["model"], 0) + 1
        waiting.append((body["prediction_id"], tweet["label"]))
        if len(waiting) > feedback_delay:
            _give_feedback(client, *waiting.popleft())
        if sent % look_every == 0:
            for event in client.post(f"/v1/experiments/{experiment}/evaluate").raise_for_status().json():
                decisions.append(
                    {
                        "request": sent,
                        "kind": event["kind"],
                        "stage": event["data"].get("stage"),
                        "candidate": event["data"].get("candidate"),
                        "weights": event["data"].get("weights"),
                        "reason": event["reason"],
                    }
                )
            state = client.get(f"/v1/experiments/{experiment}").raise_for_status().json()
            if state["stage"] in ("promoted", "rolled_back"):
                break
    while waiting:
        _give_feedback(client, *waiting.popleft())
    report = client.get(f"/v1/experiments/{experiment}/report").raise_for_status().json()
    return {
        "experiment": experiment,
        "initial_weights": created.json()["weights"],
        "requests": sent,
        "served_by": served,
        "decisions": decisions,
        "report": report,
    }


# --8<-- [end:drive]


def _give_feedback(client: httpx.Client, prediction_id: str, label: str) -> None:
    client.post("/v1/feedback", json={"prediction_id": prediction_id, "label": label}).raise_for_status()
