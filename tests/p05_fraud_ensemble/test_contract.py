"""The API's contract, on real transactions of the held-out period (also runnable with --base-url
against a deployed stack)."""

from __future__ import annotations

import httpx
import pytest


def test_one_transaction_gets_a_probability_a_decision_and_every_vote(client, transactions):
    body = client.post("/v1/score", json=transactions[0]).json()
    assert 0 <= body["fraud_probability"] <= 1
    assert body["decision"] == ("fraud" if body["fraud_probability"] >= body["threshold"] else "legit")
    assert body["voted"] == ["gbm", "logreg", "mlp"] and body["missing"] == {} and body["degraded"] is False
    assert sum(v["weight"] for v in body["votes"]) == pytest.approx(1, abs=1e-5)
    assert body["fraud_probability"] == pytest.approx(sum(v["weight"] * v["score"] for v in body["votes"]), abs=1e-5)
    assert set(body["timings_ms"]) >= {"gbm", "logreg", "mlp", "total"}


def test_a_batch_answers_each_transaction_in_order(client, transactions):
    body = client.post("/v1/score/batch", json={"transactions": transactions}).json()
    assert len(body["results"]) == len(transactions)
    singles = [client.post("/v1/score", json=t).json()["fraud_probability"] for t in transactions]
    assert [r["fraud_probability"] for r in body["results"]] == pytest.approx(singles, abs=1e-6)


def test_the_frauds_score_higher_than_the_legitimate_transactions(client, transactions):
    """The fixture holds three frauds, then five legitimate transactions, all from the held-out period."""
    scores = [
        r["fraud_probability"]
        for r in client.post("/v1/score/batch", json={"transactions": transactions}).json()["results"]
    ]
    assert min(scores[:3]) > max(scores[3:])


@pytest.fixture
def ensemble_mode(stack):
    stack.restart_service(FRAUD_ENSEMBLE_MODE="ensemble")
    yield stack
    stack.restart_service(FRAUD_ENSEMBLE_MODE="fanout")


def test_triton_s_ensemble_gives_the_same_vote_in_one_round_trip(ensemble_mode, transactions):
    body = httpx.post(f"{ensemble_mode.url}/v1/score/batch", json={"transactions": transactions}, timeout=60).json()
    assert body["mode"] == "ensemble" and body["models"] == {"ensemble": "fraud_ensemble"}
    assert set(body["timings_ms"]) == {"fraud_ensemble", "total"}
    weighted = [sum(v["weight"] * v["score"] for v in r["votes"]) for r in body["results"]]
    assert [r["fraud_probability"] for r in body["results"]] == pytest.approx(weighted, abs=1e-6)
