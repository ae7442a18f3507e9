"""Designed degradation, with real Triton: a voter unloaded under load or made slow is left out
(the answer says so, and is still a vote of the others); below the quorum, 503; Triton killed, 503;
the model back, the full vote back."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import tritonclient.http as httpclient

from polling import eventually
from problem_details import assert_backend_unavailable
from study.metrics_page import metric_total


@pytest.fixture
def local(stack, base_url_option):
    if base_url_option:
        pytest.skip("unloads models and kills Triton")
    return stack


def triton_admin(stack) -> httpclient.InferenceServerClient:
    return httpclient.InferenceServerClient(stack.triton.http_url.removeprefix("http://"))


def burst(url: str, transaction: dict, requests: int = 24) -> list[httpx.Response]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: httpx.post(f"{url}/v1/score", json=transaction, timeout=30), range(requests)))


# --8<-- [start:unload-test]
def test_a_voter_unloaded_under_load_is_left_out_then_back(local, transactions):
    metrics = f"{local.url}/metrics"
    degraded_before = metric_total(metrics, "fraud_ensemble_degraded_total")
    admin = triton_admin(local)
    with ThreadPoolExecutor(1) as load:
        during = load.submit(burst, local.url, transactions[0], 48)
        admin.unload_model("fraud_mlp")  # Triton's model-control API, while requests are in flight
        answers = [r.json() for r in during.result()]
    try:
        assert all(r.get("fraud_probability") is not None for r in answers), "every answer is a vote"
        after = burst(local.url, transactions[0], 8)
        for response in after:
            body = response.json()
            assert response.status_code == 200 and body["degraded"] is True
            assert body["voted"] == ["gbm", "logreg"] and body["missing"] == {"mlp": "error"}
            assert sum(v["weight"] for v in body["votes"]) == pytest.approx(1, abs=1e-5)
        degraded = sum(a["degraded"] for a in answers) + len(after)
        assert metric_total(metrics, "fraud_ensemble_degraded_total") - degraded_before == degraded
        assert httpx.get(f"{local.url}/health/ready").json()["status"] == "degraded"
    finally:
        admin.load_model("fraud_mlp")
    assert eventually(lambda: httpx.post(f"{local.url}/v1/score", json=transactions[0]).json()["degraded"] is False)


# --8<-- [end:unload-test]


@pytest.fixture
def slow_mlp(local):
    """The fan-out with its mlp voter pointed at fraud_mlp_slow (1.5 s per request; deadline 500 ms)."""
    models = {"gbm": "fraud_gbm", "logreg": "fraud_logreg", "mlp": "fraud_mlp_slow"}
    local.restart_service(FRAUD_ENSEMBLE_MODELS=json.dumps(models))
    yield local
    local.restart_service(
        FRAUD_ENSEMBLE_MODELS=json.dumps({"gbm": "fraud_gbm", "logreg": "fraud_logreg", "mlp": "fraud_mlp"})
    )


def test_a_slow_voter_is_cut_off_at_its_deadline(slow_mlp, transactions):
    metrics = f"{slow_mlp.url}/metrics"
    timeouts_before = metric_total(metrics, "fraud_ensemble_model_failures_total", model="mlp", reason="timeout")
    answers = burst(slow_mlp.url, transactions[0], 16)
    for response in answers:
        body = response.json()
        assert response.status_code == 200 and body["missing"] == {"mlp": "timeout"} and body["degraded"]
        assert "mlp" not in body["timings_ms"]
    assert (
        metric_total(metrics, "fraud_ensemble_model_failures_total", model="mlp", reason="timeout") - timeouts_before
        == 16
    )


def test_below_the_quorum_the_answer_is_503_never_a_guess(local, transactions):
    admin = triton_admin(local)
    admin.unload_model("fraud_mlp")
    admin.unload_model("fraud_logreg")
    try:
        body = assert_backend_unavailable(httpx.post(f"{local.url}/v1/score", json=transactions[0]), "triton", 2)
        assert "1 of 3 models answered" in body["detail"] and "quorum is 2" in body["detail"]
        assert httpx.get(f"{local.url}/health/ready").status_code == 503
    finally:
        admin.load_model("fraud_logreg")
        admin.load_model("fraud_mlp")
    assert eventually(lambda: httpx.post(f"{local.url}/v1/score", json=transactions[0]).status_code == 200)


def test_triton_killed_is_503_and_recovers(local, transactions):
    local.triton.kill()
    try:
        assert_backend_unavailable(httpx.post(f"{local.url}/v1/score", json=transactions[0], timeout=30), "triton", 2)
        assert httpx.get(f"{local.url}/health/live").status_code == 200
    finally:
        local.triton.start()
    assert eventually(
        lambda: httpx.post(f"{local.url}/v1/score", json=transactions[0]).json().get("degraded") is False, 60
    )
