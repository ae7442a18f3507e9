"""The service's contract, black-box over HTTP: predictions, sticky assignment, shadow calls,
feedback, whole experiments on held-out tweets (a promotion and a rollback), manual overrides with
their audit trail, the report, the replay, the metrics."""

from __future__ import annotations

import re

import httpx
import pytest
from scipy import stats
from study.local.ab_platform.replay import drive

from .conftest import ab_test, create, new_id, predict

TEXT = "The flight was delayed again and nobody told us anything."


def test_without_an_experiment_the_default_model_answers(client):
    answer = predict(client, "I love this airline, best crew ever!", "user-1")
    assert answer["label"] == "positive" and answer["model"] == "sentiment_lexicon"
    assert answer["arm"] is None and answer["experiment"] is None and not answer["fallback"]
    assert set(answer["scores"]) == {"negative", "neutral", "positive"}


def test_experiments_are_created_once_and_listed(client):
    made = create(client)
    assert made["stage"] == "shadow" and made["weights"] == {"sentiment_lexicon": 1.0, "sentiment_minilm": 0.0}
    again = client.post("/v1/experiments", json={**made["spec"], "reason": "again"}, headers={"X-Actor": "t"})
    assert again.status_code == 409 and again.json()["type"] == "/problems/experiment-exists"
    assert made["id"] in {e["id"] for e in client.get("/v1/experiments").json()}
    assert client.get(f"/v1/experiments/{made['id']}").json()["spec"] == made["spec"]


def test_assignment_is_sticky_and_follows_the_weights(client):
    exp = create(client, start_stage="canary", ramp=[0.3, 1.0])
    first = {f"u{i}": predict(client, TEXT, f"u{i}", exp["id"])["arm"] for i in range(300)}
    again = {u: predict(client, TEXT, u, exp["id"])["arm"] for u in list(first)[:40]}
    assert all(first[u] == arm for u, arm in again.items())
    in_candidate = sum(arm == "sentiment_minilm" for arm in first.values())
    assert stats.binomtest(in_candidate, 300, 0.3).pvalue > 0.001


def test_raising_the_weight_keeps_every_unit_already_in_the_candidate(client):
    exp = create(client, start_stage="canary", ramp=[0.1, 1.0], min_step_seconds=3600)
    units = [f"w{i}" for i in range(200)]
    before = {u: predict(client, TEXT, u, exp["id"])["arm"] for u in units}
    changed = client.post(
        f"/v1/experiments/{exp['id']}/weights",
        json={"weights": {"sentiment_lexicon": 0.6, "sentiment_minilm": 0.4}, "reason": "more traffic"},
        headers={"X-Actor": "ana"},
    )
    assert changed.status_code == 200 and changed.json()["weights"]["sentiment_minilm"] == 0.4
    after = {u: predict(client, TEXT, u, exp["id"])["arm"] for u in units}
    assert all(after[u] == "sentiment_minilm" for u in units if before[u] == "sentiment_minilm")
    moved = sum(before[u] != after[u] for u in units)
    assert 0 < moved < 120  # control -> candidate only; about 30 % of units


def test_shadow_serves_control_and_records_the_candidates_answers(client):
    exp = create(client, control="sentiment_lexicon", candidates=["sentiment_minilm", "sentiment_minilm_narrow"])
    answers = [predict(client, TEXT, f"s{i}", exp["id"]) for i in range(6)]
    assert {(a["arm"], a["model"], a["stage"]) for a in answers} == {
        ("sentiment_lexicon", "sentiment_lexicon", "shadow")
    }
    for a in answers:
        assert (
            client.post("/v1/feedback", json={"prediction_id": a["prediction_id"], "label": "negative"}).status_code
            == 201
        )
    arms = client.get(f"/v1/experiments/{exp['id']}/report").json()["arms"]
    for candidate in ("sentiment_minilm", "sentiment_minilm_narrow"):
        shadow = arms[candidate]["shadow"]
        assert shadow["requests"] == 6 and shadow["errors"] == 0 and shadow["outcomes"] == 6
        assert 0 <= shadow["accuracy"] <= 1 and arms[candidate]["requests"] == 0  # seen by nobody
    assert arms["sentiment_lexicon"]["requests"] == 6 and arms["sentiment_lexicon"]["outcomes"] == 6


def test_feedback_is_joined_to_its_prediction_once(client):
    answer = predict(client, TEXT, "f1")
    given = client.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "label": "negative"})
    assert given.status_code == 201 and given.json()["stored"] == "database"
    stored = client.get(f"/v1/predictions/{answer['prediction_id']}").json()
    assert stored["outcome_label"] == "negative" and stored["outcome_correct"] == (answer["label"] == "negative")
    twice = client.post("/v1/feedback", json={"prediction_id": answer["prediction_id"], "correct": True})
    assert twice.status_code == 409 and twice.json()["type"] == "/problems/feedback-exists"
    verdict = predict(client, TEXT, "f2")
    assert (
        client.post("/v1/feedback", json={"prediction_id": verdict["prediction_id"], "correct": False}).status_code
        == 201
    )
    assert client.get(f"/v1/predictions/{verdict['prediction_id']}").json()["outcome_correct"] is False


# --8<-- [start:promotion]
def test_a_better_model_goes_from_shadow_to_promoted_on_real_tweets(client, tweets):
    """VADER in production, the MiniLM model as candidate; true labels come back 20 requests late.
    The controller must pass it through shadow, canary and A/B and promote it, each step recorded."""
    spec = {
        "id": new_id("minilm"),
        "control": "sentiment_lexicon",
        "candidates": ["sentiment_minilm"],
        "ramp": [0.1, 0.5, 1.0],
        "min_step_seconds": 0,
        "reason": "the learned model should beat the lexicon",
    }
    run = drive(client, spec, tweets[:1500], look_every=50)
    stages = [d["stage"] for d in run["decisions"] if d["kind"] == "stage"]
    assert stages == ["canary", "ab", "promoted"], run["decisions"]
    assert "significantly better" in run["decisions"][-1]["reason"]
    report = run["report"]
    assert report["stage"] == "promoted" and report["winner"] == "sentiment_minilm"
    assert report["weights"] == {"sentiment_lexicon": 0.0, "sentiment_minilm": 1.0}
    test = report["tests"]["sentiment_minilm"]
    assert test["significant"] and test["direction"] == 1 and test["p_value"] <= 0.05
    arms = report["arms"]
    low, high = arms["sentiment_minilm"]["accuracy_interval_95"]
    assert low <= arms["sentiment_minilm"]["accuracy"] <= high
    replayed = client.get(f"/v1/experiments/{spec['id']}/replay").json()
    assert len(replayed) == 3 and all(step["same"] for step in replayed), replayed


# --8<-- [end:promotion]


def test_a_worse_model_is_rolled_back_on_real_tweets(client, tweets):
    spec = {
        "id": new_id("narrow"),
        "control": "sentiment_minilm",
        "candidates": ["sentiment_minilm_narrow"],
        "ramp": [0.2, 0.5, 1.0],
        "min_step_seconds": 3600,  # no ramp: only the test can end it
        "start_stage": "canary",
        "reason": "a model trained on one topic",
    }
    run = drive(client, spec, tweets[1500:3500], look_every=50, unit_prefix="n")
    (decision,) = run["decisions"]
    assert decision["kind"] == "candidate_rolled_back" and "significantly worse" in decision["reason"]
    assert run["report"]["stage"] == "rolled_back" and run["report"]["weights"]["sentiment_minilm"] == 1.0
    after = predict(client, TEXT, "n-1", spec["id"])
    assert after["arm"] == "sentiment_minilm"  # every unit back on control
    metrics = client.get("/metrics").text
    assert re.search(rf'ab_rollbacks_total{{arm="sentiment_minilm_narrow",experiment="{spec["id"]}"}} 1\.0', metrics)
    assert client.get(f"/v1/experiments/{spec['id']}/replay").json()[0]["same"]


def test_manual_overrides_are_recorded_with_who_and_why(client):
    exp = create(client, control="sentiment_lexicon", candidates=["sentiment_minilm", "sentiment_minilm_narrow"])
    url = f"/v1/experiments/{exp['id']}"
    to_ab = client.post(f"{url}/stage", json={"stage": "ab", "reason": "skip the canary"}, headers={"X-Actor": "ana"})
    assert to_ab.status_code == 200 and to_ab.json()["stage"] == "ab"
    assert to_ab.json()["weights"] == pytest.approx(
        {"sentiment_lexicon": 1 / 3, "sentiment_minilm": 1 / 3, "sentiment_minilm_narrow": 1 / 3}
    )
    no_winner = client.post(f"{url}/stage", json={"stage": "promoted", "reason": "ship it"}, headers={"X-Actor": "bo"})
    assert no_winner.status_code == 409
    promoted = client.post(
        f"{url}/stage",
        json={"stage": "promoted", "winner": "sentiment_minilm", "reason": "ship it"},
        headers={"X-Actor": "bo"},
    )
    assert promoted.json()["stage"] == "promoted" and promoted.json()["weights"]["sentiment_minilm"] == 1.0
    late = client.post(f"{url}/stage", json={"stage": "rolled_back", "reason": "oops"}, headers={"X-Actor": "cy"})
    assert late.status_code == 409 and late.json()["type"] == "/problems/invalid-change"
    history = client.get(f"{url}/events").json()
    assert [(e["actor"], e["kind"], e["reason"]) for e in history] == [
        ("test", "created", "a test"),
        ("ana", "stage", "skip the canary"),
        ("bo", "stage", "ship it"),
    ]


def test_rolling_back_by_hand_sends_everyone_to_control(client):
    exp = ab_test(client)
    done = client.post(
        f"/v1/experiments/{exp['id']}/stage",
        json={"stage": "rolled_back", "reason": "complaints"},
        headers={"X-Actor": "ana"},
    )
    assert done.json()["stage"] == "rolled_back" and done.json()["rolled_back"] == {"sentiment_minilm": "complaints"}
    assert {predict(client, TEXT, f"r{i}", exp["id"])["arm"] for i in range(20)} == {"sentiment_lexicon"}


def test_the_report_says_what_the_controller_would_do(client):
    exp = ab_test(client)
    for i in range(10):
        predict(client, TEXT, f"rep{i}", exp["id"])
    report = client.get(f"/v1/experiments/{exp['id']}/report").json()
    assert report["stage"] == "ab" and report["decision_now"] == "hold"
    assert report["srm"]["p_value"] > 0.001 and report["srm"]["mismatch"] is False
    assert sum(a["requests"] for a in report["arms"].values()) == 10
    assert report["guardrails"]["sentiment_minilm"]["requests"] == report["arms"]["sentiment_minilm"]["requests"]


def test_metrics_show_traffic_per_arm_and_the_state(client):
    exp = ab_test(client)
    for i in range(8):
        predict(client, TEXT, f"m{i}", exp["id"])
    text = client.get("/metrics").text
    counted = re.findall(
        rf'ab_predictions_total{{arm="[a-z_]+",experiment="{exp["id"]}",model="[a-z_]+",outcome="ok"}} (\d+)', text
    )
    assert sum(float(c) for c in counted) == 8
    assert f'ab_arm_weight{{arm="sentiment_minilm",experiment="{exp["id"]}"}} 0.5' in text
    assert f'ab_experiment_stage{{experiment="{exp["id"]}",stage="ab"}} 1.0' in text


def test_health(base_url):
    assert httpx.get(f"{base_url}/health/live").json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/health/ready").json()
    assert ready == {"status": "ok", "triton": True, "database": True, "spool_entries": 0}
