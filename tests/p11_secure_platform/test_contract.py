"""The API as its users see it: sign in (a machine client, a person with PKCE), list models, predict
with the answers scikit-learn gives, read a prediction back, switch a model off, sign out."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import bearer, digits


def test_a_machine_client_is_who_its_token_says(as_client):
    me = as_client("acme-batch").get("/v1/me").json()
    assert me == {
        "subject": "acme-batch",
        "tenant": "acme",
        "client_id": "acme-batch",
        "roles": ["inference"],
        "scopes": ["inference:invoke"],
        "expires_at": me["expires_at"],
    }


def test_a_person_signs_in_with_authorization_code_and_pkce(stack, base_url):
    token = stack.provider.person_token("ana@acme")
    me = httpx.get(f"{base_url}/v1/me", headers=bearer(token), timeout=30).json()
    assert me["subject"] == "ana@acme" and me["tenant"] == "acme" and "tenant-admin" in me["roles"]


def test_a_wrong_password_gets_no_token(stack):
    from study.errors import StudyError

    with pytest.raises(StudyError, match="sign-in refused"):
        stack.provider.person_token("ana@acme", password="not-her-password")


@pytest.mark.parametrize(
    ("client_id", "models"),
    [("acme-batch", {"digits", "wine-cultivar"}), ("globex-batch", {"digits", "tumour-screen"}),
     ("initech-batch", {"digits"})],
)  # fmt: skip
def test_each_tenant_sees_the_shared_model_and_its_own(as_client, client_id, models):
    listed = as_client(client_id).get("/v1/models").json()
    assert {m["name"] for m in listed} == models
    assert all(m["owned"] == (m["name"] != "digits") for m in listed)


@pytest.mark.parametrize(
    ("client_id", "model", "triton_name"),
    [("acme-batch", "digits", "digits"), ("acme-batch", "wine-cultivar", "acme__wine_cultivar"),
     ("globex-batch", "tumour-screen", "globex__tumour_screen")],
)  # fmt: skip
def test_answers_are_scikit_learns_on_held_out_rows(stack, as_client, client_id, model, triton_name):
    """Through tokens, limits and Triton, the label is the one the source framework gives."""
    held_out = json.loads((stack.models / "held_out.json").read_text())[triton_name]
    labels = json.loads((stack.models / "metrics.json").read_text())[triton_name]["labels"]
    http = as_client(client_id)
    answer = http.post(f"/v1/models/{model}/predict", json={"inputs": held_out["inputs"][:32]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == [labels[i] for i in held_out["sklearn"][:32]]
    assert all(abs(sum(p) - 1) < 1e-4 for p in answer.json()["probabilities"])


def test_a_prediction_is_stored_with_a_hash_of_its_input_not_the_input(stack, as_client):
    http = as_client("acme-batch")
    made = http.post("/v1/models/digits/predict", json={"inputs": digits(stack, 2)})
    assert made.status_code == 200
    assert int(made.headers["RateLimit-Remaining"]) < int(made.headers["RateLimit-Limit"])
    stages = [part.split(";")[0] for part in made.headers["Server-Timing"].split(", ")]
    assert stages == ["token", "policy", "limits", "model", "store_audit"]
    stored = http.get(f"/v1/predictions/{made.json()['id']}").json()
    assert stored["row_count"] == 2 and stored["labels"] == made.json()["labels"] and len(stored["input_sha256"]) == 64
    assert stored["client_id"] == "acme-batch" and stored["model"] == "digits"
    assert made.json()["id"] in [p["id"] for p in http.get("/v1/predictions", params={"limit": 100}).json()]


def test_a_tenant_admin_switches_a_shared_model_off_for_their_tenant_only(stack, as_client):
    admin, acme, globex = as_client("acme-admin"), as_client("acme-batch"), as_client("globex-batch")
    try:
        assert admin.put("/v1/admin/models/digits", json={"enabled": False}).json()["enabled"] is False
        off = acme.post("/v1/models/digits/predict", json={"inputs": digits(stack)})
        assert off.status_code == 403 and "switched digits off" in off.json()["detail"]
        assert globex.post("/v1/models/digits/predict", json={"inputs": digits(stack)}).status_code == 200
        assert {m["name"]: m["enabled"] for m in acme.get("/v1/models").json()}["digits"] is False
    finally:
        assert admin.put("/v1/admin/models/digits", json={"enabled": True}).status_code == 200
    assert acme.post("/v1/models/digits/predict", json={"inputs": digits(stack)}).status_code == 200


def test_a_missing_token_gets_a_bearer_challenge(base_url):
    answer = httpx.get(f"{base_url}/v1/models", timeout=10)
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == 'Bearer realm="inference"'
    assert answer.json()["type"] == "/problems/unauthenticated"


def test_health(base_url):
    assert httpx.get(f"{base_url}/health/live", timeout=10).json() == {"status": "ok"}
    ready = httpx.get(f"{base_url}/health/ready", timeout=10).json()
    assert ready == {"status": "ok", "identity_provider": True, "triton": True, "database": True, "redis": True}


def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_its_limit(stack, as_client):
    """initech has the default plan: 5 requests/s, a burst of 10."""
    initech = as_client("initech-batch")
    answers = [initech.post("/v1/models/digits/predict", json={"inputs": digits(stack)}) for _ in range(16)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and refused[0].json()["type"] == "/problems/rate-limited"
    assert int(refused[0].headers["Retry-After"]) >= 1 and refused[0].headers["RateLimit-Limit"] == "10"
    assert refused[0].headers["RateLimit-Remaining"] == "0"
    from .conftest import audited_denial

    assert audited_denial(stack, refused[0])["reason"] == "rate-limited"
    assert as_client("acme-batch").post("/v1/models/digits/predict", json={"inputs": digits(stack)}).status_code == 200


def test_a_tenant_over_its_concurrent_inferences_gets_tenant_busy(stack, as_client):
    """initech may run one inference at a time. Another API instance holds that slot (a lease in the
    shared Redis): this instance refuses at once, and serves again when the lease is released."""
    import time

    import redis

    time.sleep(1)  # initech's bucket refills (5 tokens a second) after the test before emptied it
    key = "limits:initech:inflight"
    initech = as_client("initech-batch")
    with redis.Redis.from_url(stack.redis.url) as shared:
        shared.zadd(key, {"held-by-another-instance": (time.time() + 60) * 1000})
        try:
            busy = initech.post("/v1/models/digits/predict", json={"inputs": digits(stack)})
            assert busy.status_code == 429 and busy.json()["type"] == "/problems/tenant-busy"
            assert busy.headers["RateLimit-Limit"] == "1"
        finally:
            shared.zrem(key, "held-by-another-instance")
    assert initech.post("/v1/models/digits/predict", json={"inputs": digits(stack)}).status_code == 200
