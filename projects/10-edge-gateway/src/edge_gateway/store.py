"""The gateway's state in one SQLite file: results, the answer cache, the outbox of what the cloud
has not acknowledged, and the model registry.

SQLite because a box in a shop has no database server: one file, transactions, a power cut
survived. WAL mode (readers do not wait for the writer), ``synchronous=FULL`` (a result is on
disk before the device is told it was accepted), one connection used by one thread at a time,
and an integrity check at every start."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id              TEXT PRIMARY KEY,        -- uuid, also the idempotency key of the result upstream
    device_id       TEXT NOT NULL,
    captured_at     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    content_sha256  TEXT NOT NULL,
    class_index     INTEGER NOT NULL,
    label           TEXT NOT NULL,
    score           REAL NOT NULL,
    model_version   TEXT NOT NULL,
    cached          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answer_cache (
    content_sha256  TEXT NOT NULL,
    model_version   TEXT NOT NULL,
    class_index     INTEGER NOT NULL,
    label           TEXT NOT NULL,
    score           REAL NOT NULL,
    used_at         TEXT NOT NULL,
    PRIMARY KEY (content_sha256, model_version)
);
CREATE INDEX IF NOT EXISTS answer_cache_by_use ON answer_cache (used_at);
CREATE TABLE IF NOT EXISTS outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind     TEXT NOT NULL,                  -- result | summary | event
    key      TEXT NOT NULL UNIQUE,           -- what the cloud de-duplicates on
    payload  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    version       TEXT PRIMARY KEY,
    sha256        TEXT NOT NULL,
    status        TEXT NOT NULL,             -- active | previous | retired | refused
    reason        TEXT NOT NULL DEFAULT '',
    installed_at  TEXT NOT NULL
);
"""


class StorageUnavailable(RuntimeError):
    """The database cannot be written (disk full, read-only, corrupt)."""


@dataclass(frozen=True)
class Result:
    id: str
    device_id: str
    captured_at: str
    received_at: str
    content_sha256: str
    class_index: int
    label: str
    score: float
    model_version: str
    cached: bool

    def payload(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Store:
    def __init__(self, path: Path, max_bytes: int | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        check = self._db.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise StorageUnavailable(f"integrity check failed: {check}")
        self._db.executescript(SCHEMA)
        if max_bytes is not None:
            # A full disk, before the disk is full: past this size every write fails with SQLITE_FULL.
            page = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page)}")

    def _write(self, statements: list[tuple[str, tuple]]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for sql, params in statements:
                    self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StorageUnavailable(str(exc)) from None

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageUnavailable(str(exc)) from None

    # --8<-- [start:accept]
    def accept(self, result: Result, cache: bool = True) -> None:
        """The result, its cache entry and its outbox entry in one transaction: a result is either
        stored and queued for the cloud, or not accepted at all."""
        statements = [
            ("INSERT INTO results VALUES (?,?,?,?,?,?,?,?,?,?)", tuple(result.payload().values())),
            (
                "INSERT INTO outbox (kind, key, payload) VALUES ('result', ?, ?)",
                (result.id, json.dumps(result.payload())),
            ),
        ]
        if cache:
            statements.append(
                (
                    "INSERT INTO answer_cache VALUES (?,?,?,?,?,?)"
                    " ON CONFLICT DO UPDATE SET used_at = excluded.used_at",
                    (
                        result.content_sha256,
                        result.model_version,
                        result.class_index,
                        result.label,
                        result.score,
                        result.received_at,
                    ),
                )
            )
        self._write(statements)

    # --8<-- [end:accept]

    def cached(self, content_sha256: str, model_version: str) -> tuple[int, str, float] | None:
        rows = self._read(
            "SELECT class_index, label, score FROM answer_cache WHERE content_sha256 = ? AND model_version = ?",
            (content_sha256, model_version),
        )
        return rows[0] if rows else None

    def trim_cache(self, keep: int) -> None:
        """Forget the least recently used answers beyond ``keep`` (an index on used_at makes it cheap)."""
        self._write(
            [
                (
                    "DELETE FROM answer_cache WHERE rowid IN"
                    " (SELECT rowid FROM answer_cache ORDER BY used_at DESC LIMIT -1 OFFSET ?)",
                    (keep,),
                )
            ]
        )

    def result(self, result_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT * FROM results WHERE id = ?", (result_id,))
        if not rows:
            return None
        names = [d[1] for d in self._read("PRAGMA table_info(results)")]
        return dict(zip(names, rows[0], strict=True))

    # ----- the outbox ---------------------------------------------------------------------------

    def outbox_size(self) -> int:
        return self._read("SELECT count(*) FROM outbox")[0][0]

    def oldest(self, limit: int) -> list[tuple[int, str, str, dict]]:
        rows = self._read("SELECT seq, kind, key, payload FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [(seq, kind, key, json.loads(payload)) for seq, kind, key, payload in rows]

    def acknowledge(self, seqs: list[int]) -> None:
        self._write([("DELETE FROM outbox WHERE seq = ?", (seq,)) for seq in seqs])

    def add_event(self, key: str, payload: dict) -> None:
        self._write(
            [("INSERT OR IGNORE INTO outbox (kind, key, payload) VALUES ('event', ?, ?)", (key, json.dumps(payload)))]
        )

    # --8<-- [start:bound]
    def bound_outbox(self, maximum: int) -> int:
        """Keep the outbox at ``maximum`` entries: the oldest results beyond it become one summary
        per (device, hour, label) with their count and time span. Nothing is dropped silently:
        the full rows stay in ``results`` here, the cloud gets the counts. Returns results summarised."""
        excess = self.outbox_size() - maximum
        if excess <= 0:
            return 0
        rows = self._read(
            "SELECT seq, payload FROM outbox WHERE kind = 'result' ORDER BY seq LIMIT ?", (excess + maximum // 10,)
        )
        groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
        for _, payload in rows:
            r = json.loads(payload)
            groups[(r["device_id"], r["captured_at"][:13], r["label"])].append(r)
        statements: list[tuple[str, tuple]] = [("DELETE FROM outbox WHERE seq = ?", (seq,)) for seq, _ in rows]
        for (device, hour, label), members in groups.items():
            summary = {
                "device_id": device,
                "hour": hour,
                "label": label,
                "count": len(members),
                "first_result": members[0]["id"],
                "last_result": members[-1]["id"],
                "first_captured_at": min(m["captured_at"] for m in members),
                "last_captured_at": max(m["captured_at"] for m in members),
            }
            key = f"summary:{members[0]['id']}:{members[-1]['id']}:{label}"
            statements.append(
                ("INSERT INTO outbox (kind, key, payload) VALUES ('summary', ?, ?)", (key, json.dumps(summary)))
            )
        self._write(statements)
        return len(rows)

    # --8<-- [end:bound]

    # ----- the model registry ------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT version, sha256, status, reason, installed_at FROM models ORDER BY installed_at")
        return [dict(zip(("version", "sha256", "status", "reason", "installed_at"), r, strict=True)) for r in rows]

    def activate(self, version: str, sha256: str, at: str) -> None:
        """The new model active, the one before it kept as previous (for a rollback), older retired."""
        self._write(
            [
                ("UPDATE models SET status = 'retired' WHERE status = 'previous'", ()),
                ("UPDATE models SET status = 'previous' WHERE status = 'active'", ()),
                (
                    "INSERT INTO models VALUES (?, ?, 'active', '', ?)"
                    " ON CONFLICT (version) DO UPDATE SET status = 'active', reason = ''",
                    (version, sha256, at),
                ),
            ]
        )

    def refuse(self, version: str, sha256: str, reason: str, at: str) -> None:
        self._write(
            [
                (
                    "INSERT INTO models VALUES (?, ?, 'refused', ?, ?)"
                    " ON CONFLICT (version) DO UPDATE SET status = 'refused', reason = excluded.reason",
                    (version, sha256, reason, at),
                )
            ]
        )

    def writable(self) -> bool:
        """Can the next results be committed? Writes 64 KiB in a transaction that is rolled back:
        a full disk (or a database at its size limit), a read-only file system and a broken file
        all make it fail, and nothing is left behind."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("CREATE TABLE IF NOT EXISTS health_probe (x BLOB)")
                self._db.execute("INSERT INTO health_probe VALUES (zeroblob(65536))")
                return True
            except sqlite3.Error:
                return False
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()
