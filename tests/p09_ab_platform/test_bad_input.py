"""Malformed, oversized and hostile requests: a clear 4xx problem+json, and the service keeps serving."""

from __future__ import annotations

import uuid

import pytest

from problem_details import assert_problem

from .conftest import create, new_id, predict

TEXT = "The crew was lovely."
ACTOR = {"X-Actor": "test"}


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"text": "", "unit_id": "u"}, 422, "validation-error"),
        ({"text": "x" * 5001, "unit_id": "u"}, 413, "text-too-long"),
        ({"text": TEXT}, 422, "validation-error"),
        ({"text": TEXT, "unit_id": "has spaces"}, 422, "validation-error"),
        ({"text": TEXT, "unit_id": "u" * 201}, 422, "validation-error"),
        ({"text": TEXT, "unit_id": "u", "experiment": "no-such-experiment"}, 404, "unknown-experiment"),
        ({"text": TEXT, "unit_id": "u", "model": "sentiment_minilm"}, 422, "validation-error"),
        ({"text": 42, "unit_id": "u"}, 422, "validation-error"),
    ],
)
def test_bad_predictions(client, body, status, slug):
    assert_problem(client.post("/v1/predict", json=body), status, slug)


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"prediction_id": str(uuid.uuid4()), "label": "negative"}, 404, "unknown-prediction"),
        ({"prediction_id": "not-a-uuid", "label": "negative"}, 422, "validation-error"),
        ({"prediction_id": str(uuid.uuid4())}, 422, "validation-error"),
        ({"prediction_id": str(uuid.uuid4()), "label": "negative", "correct": True}, 422, "validation-error"),
        ({"prediction_id": str(uuid.uuid4()), "label": "furious"}, 422, "validation-error"),
    ],
)
def test_bad_feedback(client, body, status, slug):
    assert_problem(client.post("/v1/feedback", json=body), status, slug)


def spec(**changes):
    return {
        "id": new_id("bad"),
        "control": "sentiment_lexicon",
        "candidates": ["sentiment_minilm"],
        "reason": "r",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "status", "slug"),
    [
        ({"control": "gpt-17"}, 422, "unknown-model"),
        ({"candidates": ["sentiment_lexicon"]}, 422, "validation-error"),
        ({"candidates": []}, 422, "validation-error"),
        ({"ramp": [0.1, 0.5]}, 422, "validation-error"),
        ({"ramp": [0.5, 0.1, 1.0]}, 422, "validation-error"),
        ({"id": "Not Valid!"}, 422, "validation-error"),
        ({"start_stage": "promoted"}, 422, "validation-error"),
        ({"guardrails": {"max_error_rate": 2}}, 422, "validation-error"),
        ({"reason": ""}, 422, "validation-error"),
    ],
)
def test_bad_experiments(client, changes, status, slug):
    assert_problem(client.post("/v1/experiments", json=spec(**changes), headers=ACTOR), status, slug)


def test_a_change_needs_someone_to_answer_for_it(client):
    assert_problem(client.post("/v1/experiments", json=spec()), 422, "validation-error")


@pytest.mark.parametrize(
    ("weights", "slug"),
    [
        ({"sentiment_lexicon": 0.7, "sentiment_minilm": 0.2}, "invalid-weights"),
        ({"sentiment_lexicon": 0.5, "gpt-17": 0.5}, "invalid-weights"),
        ({"sentiment_lexicon": 1.5, "sentiment_minilm": -0.5}, "invalid-weights"),
    ],
)
def test_weights_that_do_not_make_a_split(client, weights, slug):
    exp = create(client, start_stage="canary", min_step_seconds=3600)
    response = client.post(
        f"/v1/experiments/{exp['id']}/weights", json={"weights": weights, "reason": "r"}, headers=ACTOR
    )
    assert_problem(response, 422, slug)
    assert client.get(f"/v1/experiments/{exp['id']}").json()["weights"] == exp["weights"]  # unchanged


def test_changes_the_stage_does_not_allow(client):
    exp = create(client)
    url = f"/v1/experiments/{exp['id']}"
    assert_problem(
        client.post(f"{url}/weights", json={"weights": {"sentiment_lexicon": 1.0}, "reason": "r"}, headers=ACTOR),
        409,
        "invalid-change",
    )
    assert_problem(
        client.post(f"{url}/stage", json={"stage": "launched", "reason": "r"}, headers=ACTOR), 422, "validation-error"
    )
    assert_problem(
        client.post(
            f"{url}/stage", json={"stage": "promoted", "winner": "sentiment_lexicon", "reason": "r"}, headers=ACTOR
        ),
        409,
        "invalid-change",
    )
    assert_problem(
        client.post("/v1/experiments/no-such-one/stage", json={"stage": "ab", "reason": "r"}, headers=ACTOR),
        404,
        "unknown-experiment",
    )
    assert_problem(client.get("/v1/experiments/NOT_AN_ID/report"), 422, "validation-error")


def test_unreadable_and_oversized_bodies(client):
    response = client.post("/v1/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "validation-error")  # FastAPI reports a JSON decode error as invalid input
    huge = client.post(
        "/v1/predict", content=b'{"text": "' + b"a" * 300_000 + b'"}', headers={"Content-Type": "application/json"}
    )
    assert_problem(huge, 413, "payload-too-large")
    assert_problem(client.get(f"/v1/predictions/{uuid.uuid4()}"), 404, "unknown-prediction")
    assert_problem(client.get("/v1/predictions/nope"), 422, "validation-error")


def test_hostile_text_is_only_text(client):
    for text in [
        "'; DROP TABLE predictions; --",
        "<script>alert(1)</script>",
        "\u202e\u0000 zero\u200b width",
        "😡" * 1000,
    ]:
        answer = predict(client, text, "hostile-1")
        assert answer["label"] in {"negative", "neutral", "positive"}
    assert predict(client, TEXT, "after")["label"] == "positive"
