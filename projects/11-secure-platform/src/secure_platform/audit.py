"""Audit records: what one is, its canonical bytes, and how a chain of them is verified.

A record holds who asked (subject, client, tenant), what (action, resource, model), the decision
and why, the request id and the time, and of the input only its SHA-256 and size: never a token,
a secret or the data itself. ``body()`` is the canonical JSON that the chain hashes:
hash = SHA-256(previous hash || body), computed inside PostgreSQL by audit_append (schema.sql)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    action: str  # "models.predict", "audit.read", "auth", ...
    decision: str  # "allow" or "deny"
    status: int  # the HTTP status answered
    request_id: str
    tenant: str | None = None  # from the verified token only; None when there was none
    subject: str | None = None
    client_id: str | None = None
    resource: str = ""  # e.g. "model:digits", "prediction:<id>"
    model: str | None = None
    reason: str = ""  # why a denial (never the token itself)
    input_sha256: str | None = None
    input_bytes: int | None = None
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="microseconds"))

    def body(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    records: int
    head_seq: int
    head_hash: str
    problems: list[str]

    @property
    def intact(self) -> bool:
        return not self.problems


# --8<-- [start:verify]
def verify_chain(rows: Iterable[tuple[int, str | None, str, str, str]]) -> Verdict:
    """Check rows (seq, tenant_id, body, prev_hash, hash) in seq order: numbering without gaps,
    each linked to the one before, each hash recomputed, the tenant column equal to the body's.
    An edit, a deletion, an insertion or a reordering breaks at least one of these."""
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for seq, tenant, body, prev_hash, digest in rows:
        count += 1
        if seq != expected_seq:
            problems.append(f"seq {seq}: expected {expected_seq} (a record is missing or moved)")
        if prev_hash != prev:
            problems.append(f"seq {seq}: prev_hash does not match the record before")
        if chain_hash(prev_hash, body) != digest:
            problems.append(f"seq {seq}: hash does not match its body (the record was edited)")
        try:
            claimed = json.loads(body).get("tenant")
        except ValueError:
            claimed = "<unreadable body>"
        if claimed != tenant:
            problems.append(f"seq {seq}: tenant column {tenant!r} differs from the body's {claimed!r}")
        expected_seq, prev = seq + 1, digest
    return Verdict(records=count, head_seq=expected_seq - 1, head_hash=prev, problems=problems)


# --8<-- [end:verify]
