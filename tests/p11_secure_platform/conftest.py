"""Project 11 fixtures: Triton (three classifiers), the OpenID provider, PostgreSQL, Redis and the
API, started once per session; tokens from the provider; tokens forged with its own key (what an
attacker who stole nothing cannot do, but a test can: the claims are then the only thing wrong);
the audit records of one request, read as the schema owner."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from study.local.secure_platform.stack import running_stack

from stack_fixtures import stack_fixtures

# A key the API has not seen may be fetched every 5 s here (30 s by default): a rotation test
# waits that long, not half a minute.
TEST_SETTINGS = {"jwks_min_refresh_s": "5"}

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, settings=TEST_SETTINGS, credentials=None)
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token(stack):
    """token("acme-batch"): a fresh client-credentials token (tokens live five minutes)."""
    return lambda client_id, scope=None: stack.provider.client_token(client_id, scope)


@pytest.fixture
def as_client(stack, base_url):
    """as_client("acme-batch"): an httpx client carrying that client's token."""
    opened: list[httpx.Client] = []

    def make(client_id: str, scope: str | None = None) -> httpx.Client:
        http = httpx.Client(
            base_url=base_url, headers=bearer(stack.provider.client_token(client_id, scope)), timeout=30
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


def claims_for(stack, tenant: str = "acme", **changes: Any) -> dict:
    """The claims the provider would put in acme-batch's token, with ``changes`` (None removes)."""
    now = int(time.time())
    claims = {
        "iss": stack.provider.issuer,
        "aud": stack.provider.audience,
        "sub": f"{tenant}-batch",
        "client_id": f"{tenant}-batch",
        "tenant": tenant,
        "roles": ["inference"],
        "scope": "inference:invoke",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def signing_key(stack, index: int = 0):
    jwk = stack.provider.keys[index]
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk)), jwk["kid"]


def forge(stack, claims: dict, kid: str | None = None, key=None, algorithm: str = "RS256") -> str:
    """A token signed with the provider's own key (or ``key``): valid but for what ``claims`` say."""
    own_key, own_kid = signing_key(stack)
    return jwt.encode(claims, key or own_key, algorithm=algorithm, headers={"kid": kid or own_kid, "typ": "at+jwt"})


def audit_of(stack, request_id: str) -> list[dict]:
    """The audit records of one request (by its X-Request-ID), read as the schema owner."""
    with psycopg.connect(stack.postgres.url) as conn:
        rows = conn.execute(
            "SELECT tenant_id, body FROM audit_log WHERE body::jsonb ->> 'request_id' = %s ORDER BY seq", [request_id]
        ).fetchall()
    return [{"tenant_column": tenant, **json.loads(body)} for tenant, body in rows]


def audited_denial(stack, response: httpx.Response) -> dict:
    """The one audit record of a refused request; it must say deny and the status answered."""
    records = audit_of(stack, response.headers["X-Request-ID"])
    assert len(records) == 1, records
    record = records[0]
    assert record["decision"] == "deny" and record["status"] == response.status_code, record
    return record


def digits(stack, count: int = 1) -> list[list[float]]:
    """Held-out rows of the digits set (no training saw them)."""
    held_out = json.loads((stack.models / "held_out.json").read_text())
    return held_out["digits"]["inputs"][:count]
