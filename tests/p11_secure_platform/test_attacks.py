"""Attacks on the API, each answered with the right status, an audit record of the denial, and
nothing of another tenant's data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from study.metrics_page import metric_total

from .conftest import audited_denial, bearer, claims_for, digits, forge

TIMES = ("exp", "nbf", "iat")  # in the cases below, seconds from the moment the test runs


def call(base_url: str, token: str, path: str = "/v1/models") -> httpx.Response:
    return httpx.get(f"{base_url}{path}", headers=bearer(token), timeout=30)


def refused_token(stack, base_url, token: str, reason: str) -> dict:
    answer = call(base_url, token)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "/problems/unauthenticated"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    record = audited_denial(stack, answer)
    assert record["tenant"] is None and record["subject"] is None  # nothing of an untrusted token is believed
    assert reason.lower() in record["reason"].lower(), record
    return record


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


# --8<-- [start:claims]
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": -120, "iat": -600}, "expired"),
        ({"nbf": 600}, "not valid yet"),
        ({"iat": 600}, "not valid yet"),
        ({"iss": "http://127.0.0.1:1/evil"}, "issuer"),
        ({"aud": "urn:some-other:api"}, "audience"),
        ({"exp": None}, "exp"),
        ({"tenant": None}, "tenant"),
        ({"tenant": "acme' OR '1'='1"}, "tenant"),
        ({"roles": "tenant-admin"}, "roles"),
    ],
    ids=[
        "expired",
        "not-before",
        "issued-in-future",
        "wrong-issuer",
        "wrong-audience",
        "no-exp",
        "no-tenant",
        "sql-in-tenant",
        "roles-not-a-list",
    ],
)
def test_a_token_with_a_wrong_claim_is_refused(stack, base_url, changes, reason):
    now = int(time.time())  # not at collection: a long session would make "the future" the past
    changes = {k: now + v if k in TIMES and isinstance(v, int) else v for k, v in changes.items()}
    refused_token(stack, base_url, forge(stack, claims_for(stack, **changes)), reason)


# --8<-- [end:claims]


def test_a_token_expired_within_the_leeway_still_works(stack, base_url):
    """Ten seconds of clock skew are allowed, not more (the test above: two minutes)."""
    answer = call(base_url, forge(stack, claims_for(stack, exp=int(time.time()) - 3)))
    assert answer.status_code == 200, answer.text


def test_an_unsigned_token_is_refused(stack, base_url):
    header = {"alg": "none", "typ": "at+jwt", "kid": stack.provider.keys[0]["kid"]}
    refused_token(stack, base_url, f"{b64(header)}.{b64(claims_for(stack))}.", "algorithm 'none'")


def test_an_hs256_token_signed_with_the_public_key_is_refused(stack, base_url):
    """The classic key-confusion attack: the public key (which anyone can fetch) as an HMAC secret."""
    public_pem = (
        serialization.load_pem_private_key(jwt_private_pem(stack), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": stack.provider.keys[0]["kid"]}
    signing_input = f"{b64(header)}.{b64(claims_for(stack))}"
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    refused_token(stack, base_url, f"{signing_input}.{signature.rstrip(b'=').decode()}", "algorithm 'HS256'")


def jwt_private_pem(stack) -> bytes:
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(stack.provider.keys[0]))
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_a_real_token_with_a_tampered_payload_is_refused(stack, base_url, token):
    header, _, signature = token("acme-batch").split(".")
    claims = jwt.decode(token("acme-batch"), options={"verify_signature": False})
    claims["tenant"] = "globex"
    refused_token(stack, base_url, f"{header}.{b64(claims)}.{signature}", "signature")


def test_a_token_signed_by_another_key_under_the_providers_kid_is_refused(stack, base_url):
    """Privilege escalation: an attacker's own key, claiming an admin role the provider never issued."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = claims_for(stack, roles=["inference", "tenant-admin"], scope="inference:invoke audit:read tenant:admin")
    refused_token(stack, base_url, forge(stack, claims, key=attacker), "signature")


def test_unknown_kids_are_refused_and_fetch_the_jwks_at_most_once_per_interval(stack, base_url):
    before = jwks_fetches(base_url)
    for _ in range(10):
        refused_token(stack, base_url, forge(stack, claims_for(stack), kid=f"made-up-{uuid.uuid4().hex}"), "kid")
    assert jwks_fetches(base_url) - before <= 1  # ten unknown kids, at most one fetch (30 s apart)


def jwks_fetches(base_url: str) -> float:
    return metric_total(f"{base_url}/metrics", "secure_platform_jwks_fetches_total")


def test_the_provider_will_not_grant_a_scope_the_client_does_not_have(stack):
    answer = httpx.post(
        f"{stack.provider.issuer}/token",
        data={"grant_type": "client_credentials", "scope": "inference:invoke tenant:admin"},
        auth=("acme-batch", stack.provider.secrets["clients"]["acme-batch"]),
        timeout=10,
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_scope"


def test_a_tenant_in_the_body_is_refused_not_read(stack, as_client):
    acme = as_client("acme-batch")
    answer = acme.post("/v1/models/digits/predict", json={"inputs": digits(stack), "tenant": "globex"})
    assert answer.status_code == 422 and answer.json()["type"] == "/problems/validation-error"
    assert audited_denial(stack, answer)["tenant"] == "acme"


# --8<-- [start:bola]
def test_another_tenants_prediction_is_not_found_exactly_like_a_missing_one(stack, as_client):
    acme, globex = as_client("acme-batch"), as_client("globex-batch")
    made = acme.post("/v1/models/digits/predict", json={"inputs": digits(stack)})
    assert made.status_code == 200, made.text
    stolen = globex.get(f"/v1/predictions/{made.json()['id']}")
    missing = globex.get(f"/v1/predictions/{uuid.uuid4()}")
    assert stolen.status_code == missing.status_code == 404
    assert without_instance(stolen.json()) == without_instance(missing.json())
    assert made.json()["id"] not in globex.get("/v1/predictions", params={"limit": 100}).text
    record = audited_denial(stack, stolen)
    assert record["tenant"] == "globex" and record["action"] == "predictions.read"


def test_another_tenants_model_is_not_found_exactly_like_a_missing_one(stack, as_client):
    acme = as_client("acme-batch")
    theirs = acme.post("/v1/models/tumour-screen/predict", json={"inputs": [[0.0] * 30]})
    nothing = acme.post("/v1/models/no-such-model/predict", json={"inputs": [[0.0] * 30]})
    assert theirs.status_code == nothing.status_code == 404
    assert without_instance(theirs.json()) == without_instance(nothing.json())
    assert "tumour-screen" not in acme.get("/v1/models").text
    assert audited_denial(stack, theirs)["tenant"] == "acme"


# --8<-- [end:bola]


def without_instance(problem: dict) -> dict:
    return {k: v for k, v in problem.items() if k != "instance"}


@pytest.mark.parametrize(
    ("client_id", "path", "missing"),
    [
        ("acme-batch", "/v1/audit", "scope 'audit:read'"),
        ("acme-reader", "/v1/audit", "role 'tenant-admin'"),
        ("acme-reader", "/v1/models", "scope 'inference:invoke'"),
    ],
)
def test_a_missing_scope_or_role_is_forbidden(stack, as_client, client_id, path, missing):
    answer = as_client(client_id).get(path)
    assert answer.status_code == 403 and answer.json()["type"] == "/problems/forbidden"
    assert missing in answer.json()["detail"]
    assert audited_denial(stack, answer)["tenant"] == "acme"


def test_only_a_tenant_admin_may_switch_a_model(stack, as_client):
    answer = as_client("acme-batch").put("/v1/admin/models/digits", json={"enabled": False})
    assert answer.status_code == 403
    assert audited_denial(stack, answer)["action"] == "models.entitle"


def test_a_token_is_refused_after_sign_out(stack, base_url, token):
    signed_in = token("acme-batch")
    assert call(base_url, signed_in).status_code == 200
    assert httpx.post(f"{base_url}/v1/auth/logout", headers=bearer(signed_in), timeout=10).status_code == 204
    replay = call(base_url, signed_in)
    assert replay.status_code == 401 and "revoked" in replay.json()["detail"]
    assert audited_denial(stack, replay)["tenant"] == "acme"  # the token was genuine, only revoked
    assert call(base_url, token("acme-batch")).status_code == 200  # a new sign-in works


def test_an_oversized_token_is_refused_before_it_is_parsed(stack, base_url):
    answer = call(base_url, "x" * 9000)
    assert answer.status_code == 431 and answer.json()["type"] == "/problems/headers-too-large"
    audited_denial(stack, answer)


def test_headers_beyond_the_servers_limit_never_reach_the_app(base_url):
    """uvicorn refuses a request whose headers pass its own limit; no answer is a success."""
    try:
        answer = httpx.get(f"{base_url}/v1/models", headers={"Authorization": "Bearer " + "x" * 200_000}, timeout=10)
    except httpx.HTTPError:
        return  # the server closed the connection: also a refusal
    assert answer.status_code in (400, 413, 431)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/digits'%20OR%20'1'='1/predict",
        "/v1/models/digits%3B%20DROP%20TABLE%20predictions/predict",
        "/v1/predictions/1'%20OR%20'1'='1",
        "/v1/audit?after=0%20OR%201=1",
        "/v1/predictions?limit=1;DELETE%20FROM%20predictions",
    ],
)
def test_sql_in_string_fields_is_refused_by_validation(stack, as_client, path):
    acme = as_client("acme-admin")
    answer = acme.request("POST" if path.endswith("/predict") else "GET", path, json={"inputs": [[0.0] * 64]})
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    audited_denial(stack, answer)
    assert acme.get("/v1/predictions", params={"limit": 1}).status_code == 200  # the table is still there
