"""Backends that die: each refusal is a 503 with Retry-After that names the backend, nothing is
half-done, and service resumes when the backend does. Key rotation at the provider, and the
provider down: tokens keep verifying with the cached keys."""

from __future__ import annotations

import httpx
import jwt
import psycopg

from polling import eventually

from .conftest import audit_of, bearer, digits


def predict(stack, token: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/v1/models/digits/predict", json={"inputs": digits(stack)}, headers=bearer(token), timeout=30
    )


def predictions_count(stack) -> int:
    with psycopg.connect(stack.postgres.url) as conn:
        return conn.execute("SELECT count(*) FROM predictions").fetchone()[0]


def assert_unavailable(answer: httpx.Response, backend: str) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["type"] == "/problems/backend-unavailable" and answer.json()["backend"] == backend
    assert int(answer.headers["Retry-After"]) > 0


def test_redis_down_refuses_work_it_cannot_limit_then_recovers(stack, token):
    acme = token("acme-batch")
    before = predictions_count(stack)
    stack.redis.stop()
    try:
        answer = predict(stack, acme)
        assert_unavailable(answer, "redis")
        assert audit_of(stack, answer.headers["X-Request-ID"])[0]["status"] == 503  # still audited
        assert predictions_count(stack) == before
    finally:
        stack.redis.start()
    assert eventually(lambda: predict(stack, acme).status_code == 200, timeout_s=30)


def test_postgres_down_answers_nothing_unaudited_then_recovers(stack, token):
    acme = token("acme-batch")
    stack.postgres.stop()
    try:
        assert_unavailable(predict(stack, acme), "postgresql")
        assert_unavailable(httpx.get(f"{stack.url}/v1/me", headers=bearer(acme), timeout=30), "postgresql")
    finally:
        stack.postgres.start()
    assert eventually(lambda: predict(stack, acme).status_code == 200, timeout_s=60)
    from secure_platform.verify_audit import verify

    assert verify(stack.postgres.url).intact


def test_triton_down_stores_no_prediction_then_recovers(stack, token):
    acme = token("acme-batch")
    before = predictions_count(stack)
    stack.triton.stop()
    try:
        answer = predict(stack, acme)
        assert_unavailable(answer, "triton")
        assert predictions_count(stack) == before
        (record,) = audit_of(stack, answer.headers["X-Request-ID"])
        assert record["decision"] == "deny" and record["model"] == "digits"
    finally:
        stack.triton.start()
    assert eventually(lambda: predict(stack, token("acme-batch")).status_code == 200, timeout_s=120)


# --8<-- [start:rotation]
def test_key_rotation_old_tokens_keep_working_new_ones_work_once_the_key_is_fetched(stack, token):
    old = token("acme-batch")
    old_kid = stack.provider.keys[0]["kid"]
    new_kid = stack.provider.rotate(report=lambda _: None)
    new = token("acme-batch")
    assert jwt.get_unverified_header(new)["kid"] == new_kid != old_kid

    def status(token: str) -> int:
        return httpx.get(f"{stack.url}/v1/me", headers=bearer(token), timeout=30).status_code

    # The new kid makes the API fetch the JWKS again, at most once per jwks_min_refresh_s: if it
    # fetched recently, new tokens are refused (401, never a 5xx) until the interval has passed.
    seen: list[int] = []
    assert eventually(lambda: seen.append(status(new)) or seen[-1] == 200, timeout_s=15)
    assert set(seen) <= {200, 401}
    assert status(old) == 200  # the old key is still published: its tokens work until they expire


# --8<-- [end:rotation]


def test_the_provider_down_known_keys_still_verify_unknown_ones_cannot(stack, token):
    acme = token("acme-batch")
    assert httpx.get(f"{stack.url}/v1/me", headers=bearer(acme), timeout=30).status_code == 200
    stack.provider.stop()
    try:
        assert predict(stack, acme).status_code == 200  # cached keys: no call to the provider
        from .conftest import claims_for, forge

        unknown = forge(stack, claims_for(stack), kid="rotated-while-down")
        answer = httpx.get(f"{stack.url}/v1/me", headers=bearer(unknown), timeout=30)
        assert answer.status_code in (401, 503)  # 401 inside the refresh interval, 503 when a fetch fails
    finally:
        stack.provider.start(report=lambda _: None)
    assert httpx.get(f"{stack.url}/v1/me", headers=bearer(token("acme-batch")), timeout=30).status_code == 200
