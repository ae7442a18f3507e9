"""Verify the audit log's hash chain: ``python -m secure_platform.verify_audit DATABASE_URL``.

Run it as a role that may read every tenant's records (the schema owner, or an auditor role), not
as the API's role. It prints the head (last sequence number and hash); keep that somewhere the
database's administrators cannot write, and pass it back with ``--head SEQ:HASH`` next time, so
that deleting the newest records (which leaves a shorter, intact chain) is caught too.
Exit status 0: intact; 1: tampered (each problem printed)."""

from __future__ import annotations

import argparse
import sys

import psycopg

from secure_platform.audit import Verdict, verify_chain


def verify(database_url: str, head: str | None = None) -> Verdict:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT seq, tenant_id, body, prev_hash, hash FROM audit_log ORDER BY seq")
        verdict = verify_chain(rows)
        if head:
            seq, _, digest = head.partition(":")
            anchored = conn.execute("SELECT hash FROM audit_log WHERE seq = %s", [int(seq)]).fetchone()
            if anchored is None:
                verdict.problems.append(f"the log ends at {verdict.head_seq}, before the anchored head {seq}")
            elif anchored[0] != digest:
                verdict.problems.append(f"record {seq} differs from the anchored head")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--head", help="SEQ:HASH printed by an earlier run")
    args = parser.parse_args(argv)
    verdict = verify(args.database_url, args.head)
    for problem in verdict.problems:
        print(f"TAMPERED {problem}")
    print(f"{verdict.records} records, head {verdict.head_seq}:{verdict.head_hash}")
    return 0 if verdict.intact else 1


if __name__ == "__main__":
    sys.exit(main())
