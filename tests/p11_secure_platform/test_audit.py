"""The audit log: every call leaves a record, none is lost under load, none holds a secret or the
input, tenants' admins read their own, and the verification command catches any tampering done
directly in the database (on a copy: the session's log stays intact for the other tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from .conftest import audit_of, bearer, digits


def verify(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "secure_platform.verify_audit", url, *args], capture_output=True, text=True, timeout=60
    )


def test_the_live_chain_verifies(stack, as_client):
    as_client("acme-batch").post("/v1/models/digits/predict", json={"inputs": digits(stack)})
    done = verify(stack.postgres.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " records, head " in done.stdout


@pytest.fixture
def copy_of_the_log(stack, as_client):
    """The session's audit log copied into a scratch database, where a test may tamper with it."""
    for client_id in ("acme-batch", "globex-batch"):
        as_client(client_id).post("/v1/models/digits/predict", json={"inputs": digits(stack)})
    assert as_client("acme-batch").get("/v1/audit").status_code == 403  # a denial in the log
    name = f"tamper_{uuid.uuid4().hex[:8]}"
    stack.postgres.sql("postgres", f"CREATE DATABASE {name}")
    scratch = stack.postgres.url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(stack.postgres.url) as source, psycopg.connect(scratch, autocommit=True) as target:
        target.execute(
            "CREATE TABLE audit_log (seq bigint PRIMARY KEY, tenant_id text, body text, prev_hash text, hash text)"
        )
        rows = source.execute("SELECT seq, tenant_id, body, prev_hash, hash FROM audit_log ORDER BY seq").fetchall()
        with target.cursor() as cursor:
            cursor.executemany("INSERT INTO audit_log VALUES (%s, %s, %s, %s, %s)", rows)
    assert len(rows) >= 4
    yield scratch, rows
    stack.postgres.sql("postgres", f"DROP DATABASE {name}")


# --8<-- [start:tamper]
@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE audit_log SET body = replace(body, '\"deny\"', '\"allow\"') WHERE seq = "
         "(SELECT min(seq) FROM audit_log WHERE body LIKE '%\"deny\"%')", "edited"),
        ("UPDATE audit_log SET tenant_id = 'globex' WHERE seq = 2 AND tenant_id IS DISTINCT FROM 'globex'",
         "tenant column"),
        ("DELETE FROM audit_log WHERE seq = 3", "missing"),
        ("UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;"
         " UPDATE audit_log SET seq = 3 WHERE seq = -1", "prev_hash"),
    ],
    ids=["edit-a-decision", "move-a-record-to-another-tenant", "delete-one", "swap-two"],
)  # fmt: skip
def test_tampering_in_the_database_is_detected(copy_of_the_log, tamper, found):
    scratch, _ = copy_of_the_log
    assert verify(scratch).returncode == 0
    with psycopg.connect(scratch, autocommit=True) as conn:
        conn.execute(tamper)
    done = verify(scratch)
    assert done.returncode == 1 and "TAMPERED" in done.stdout and found in done.stdout, done.stdout


# --8<-- [end:tamper]


def test_an_edit_that_recomputes_every_later_hash_is_caught_by_the_anchored_head(copy_of_the_log):
    """Deleting the newest records leaves an intact, shorter chain: the head kept elsewhere catches it."""
    scratch, _ = copy_of_the_log
    head = verify(scratch).stdout.split("head ")[1].strip()
    with psycopg.connect(scratch, autocommit=True) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)")
    assert verify(scratch).returncode == 0  # the chain alone cannot tell
    done = verify(scratch, "--head", head)
    assert done.returncode == 1 and "before the anchored head" in done.stdout


def test_no_record_is_lost_under_concurrent_load(stack, token):
    """Forty requests at once from two tenants: forty answers, forty records with their request ids."""
    tokens = {tenant: token(f"{tenant}-batch") for tenant in ("acme", "globex")}
    rows = digits(stack)

    def one(i: int) -> httpx.Response:
        tenant = ("acme", "globex")[i % 2]
        return httpx.post(
            f"{stack.url}/v1/models/digits/predict", json={"inputs": rows}, headers=bearer(tokens[tenant]), timeout=60
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(one, range(40)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 429} and statuses.count(200) >= 8, statuses  # 429: a tenant's 4 at once
    for answer in answers:
        records = audit_of(stack, answer.headers["X-Request-ID"])
        assert len(records) == 1 and records[0]["status"] == answer.status_code


def test_records_hold_no_token_no_secret_and_no_input(stack, token):
    secret_token = token("acme-batch")
    row = [float(v) + 0.123456 for v in range(64)]
    answer = httpx.post(
        f"{stack.url}/v1/models/digits/predict", json={"inputs": [row]}, headers=bearer(secret_token), timeout=30
    )
    assert answer.status_code == 200
    (record,) = audit_of(stack, answer.headers["X-Request-ID"])
    text = json.dumps(record)
    assert secret_token not in text and secret_token.split(".")[2] not in text
    assert "0.123456" not in text and "1.123456" not in text
    assert record["input_bytes"] == 64 * 4 and len(record["input_sha256"]) == 64
    with psycopg.connect(stack.postgres.url) as conn:
        bodies = " ".join(body for (body,) in conn.execute("SELECT body FROM audit_log"))
    for secret in stack.provider.secrets["clients"].values():
        assert secret not in bodies


def test_a_tenant_admin_reads_their_own_tenants_log_only(stack, as_client):
    as_client("globex-batch").get("/v1/models")
    acme_admin = as_client("acme-admin")
    acme_admin.get("/v1/models")
    records = acme_admin.get("/v1/audit", params={"limit": 500}).json()
    assert records and {r["tenant"] for r in records} == {"acme"}
    newest = records[-1]["seq"]
    later = acme_admin.get("/v1/audit", params={"after": newest}).json()
    assert all(r["seq"] > newest for r in later)
    globex_admin = as_client("globex-admin").get("/v1/audit", params={"limit": 500}).json()
    assert {r["tenant"] for r in globex_admin} == {"globex"}


def test_a_person_signed_in_with_pkce_is_audited_as_themselves(stack, base_url):
    token = stack.provider.person_token("ana@acme")
    answer = httpx.get(f"{base_url}/v1/audit", params={"limit": 1}, headers=bearer(token), timeout=30)
    assert answer.status_code == 200
    (record,) = audit_of(stack, answer.headers["X-Request-ID"])
    assert record["subject"] == "ana@acme" and record["client_id"] == "study-console" and record["tenant"] == "acme"
