"""Tenant isolation in depth: row-level security in PostgreSQL keeps tenants apart even when the
application's own tenant filter is gone, and the API's role cannot rewrite the audit log."""

from __future__ import annotations

import psycopg
import pytest
from study.local.secure_platform.stack import start_service

from .conftest import bearer, digits


def app_role_url(stack) -> str:
    scheme, rest = stack.postgres.url.split("//", 1)
    return f"{scheme}//inference_app@{rest.split('@', 1)[1]}"


@pytest.fixture(scope="module")
def made(stack):
    """One prediction by each tenant."""
    import httpx

    ids = {}
    for tenant in ("acme", "globex"):
        token = stack.provider.client_token(f"{tenant}-batch")
        answer = httpx.post(
            f"{stack.url}/v1/models/digits/predict", json={"inputs": digits(stack)}, headers=bearer(token), timeout=30
        )
        assert answer.status_code == 200, answer.text
        ids[tenant] = answer.json()["id"]
    return ids


# --8<-- [start:rls]
def test_row_level_security_filters_a_query_that_forgot_the_tenant(stack, made):
    with psycopg.connect(app_role_url(stack)) as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', 'acme', true)")
            tenants = {row[0] for row in conn.execute("SELECT tenant_id FROM predictions")}  # no WHERE
        assert tenants == {"acme"}
        with conn.transaction():  # no tenant set at all: nothing
            assert conn.execute("SELECT count(*) FROM predictions").fetchone() == (0,)


def test_row_level_security_refuses_a_write_for_another_tenant(stack, made):
    with psycopg.connect(app_role_url(stack)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', 'acme', true)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "INSERT INTO predictions (tenant_id, id, model, client_id, subject, row_count, input_sha256, labels)"
                " VALUES ('globex', gen_random_uuid(), 'digits', 'x', 'x', 1, 'x', '[]')"
            )


# --8<-- [end:rls]


def test_the_api_without_its_tenant_filter_still_leaks_nothing(stack, made):
    """A second API instance with the application's filter switched off: only RLS stands between
    the tenants, and it holds."""
    unfiltered = start_service(
        stack.run_dir / "unfiltered", stack.provider, stack.triton, stack.postgres, stack.redis,
        settings={"tenant_filter": "false"},
    )  # fmt: skip
    try:
        import httpx

        globex = bearer(stack.provider.client_token("globex-batch"))
        listed = httpx.get(f"{unfiltered.url}/v1/predictions", params={"limit": 100}, headers=globex, timeout=30)
        assert listed.status_code == 200 and listed.json()
        assert {row["client_id"] for row in listed.json()} <= {"globex-batch", "globex-admin"}
        stolen = httpx.get(f"{unfiltered.url}/v1/predictions/{made['acme']}", headers=globex, timeout=30)
        assert stolen.status_code == 404
        own = httpx.get(f"{unfiltered.url}/v1/predictions/{made['globex']}", headers=globex, timeout=30)
        assert own.status_code == 200
        admin = bearer(stack.provider.client_token("acme-admin"))
        audit = httpx.get(f"{unfiltered.url}/v1/audit", params={"limit": 500}, headers=admin, timeout=30)
        assert audit.status_code == 200 and {r["tenant"] for r in audit.json()} == {"acme"}
    finally:
        unfiltered.stop()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET body = '{}'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "INSERT INTO audit_log VALUES (999999, 'acme', '{}', 'x', 'x')",
    ],
)
def test_the_api_role_cannot_change_the_audit_log(stack, made, statement):
    with psycopg.connect(app_role_url(stack)) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_even_the_owner_cannot_update_the_audit_log_by_accident(stack, made):
    with psycopg.connect(stack.postgres.url) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE audit_log SET body = body WHERE seq = 1")
