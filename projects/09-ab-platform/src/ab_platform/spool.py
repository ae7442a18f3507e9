"""A durable buffer for what the service accepted while PostgreSQL could not take it.

A prediction already served, or feedback already acknowledged, must not vanish because the
database is down or restarting. Each goes into a local SQLite file (WAL, synchronous=FULL: on disk
before the answer leaves) and a background task moves the oldest entries to PostgreSQL when it
answers again, in order (a prediction before the feedback on it), each batch in one transaction;
an entry leaves the spool only after its transaction committed. A write that reaches PostgreSQL
twice (a crash between commit and delete) is harmless: inserts ignore rows already there."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from ab_platform.store import OutcomeRow, PredictionRow


def _encode(row: PredictionRow | OutcomeRow) -> str:
    return json.dumps(asdict(row), default=str)


def _prediction(payload: str) -> PredictionRow:
    data = json.loads(payload)
    for key in ("id", "shadow_of"):
        data[key] = uuid.UUID(data[key]) if data[key] else None
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    return PredictionRow(**data)


def _outcome(payload: str) -> OutcomeRow:
    data = json.loads(payload)
    data["prediction_id"] = uuid.UUID(data["prediction_id"])
    data["received_at"] = datetime.fromisoformat(data["received_at"])
    return OutcomeRow(**data)


class Spool:
    def __init__(self, path: str):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
            " kind TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS entries_by_key ON entries (key)")

    def add(self, rows: Sequence[PredictionRow | OutcomeRow]) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO entries (kind, key, payload) VALUES (?, ?, ?)",
                [
                    ("prediction", str(r.id), _encode(r))
                    if isinstance(r, PredictionRow)
                    else ("outcome", str(r.prediction_id), _encode(r))
                    for r in rows
                ],
            )

    def holds(self, kind: str, key: uuid.UUID) -> bool:
        with self._lock:
            found = self._db.execute("SELECT 1 FROM entries WHERE kind = ? AND key = ?", (kind, str(key))).fetchone()
        return found is not None

    def oldest(self, limit: int) -> tuple[int, list[PredictionRow], list[OutcomeRow]]:
        """The oldest entries (up to ``limit``): the last seq read, predictions and outcomes."""
        with self._lock:
            rows = self._db.execute("SELECT seq, kind, payload FROM entries ORDER BY seq LIMIT ?", (limit,)).fetchall()
        predictions = [_prediction(p) for _, kind, p in rows if kind == "prediction"]
        outcomes = [_outcome(p) for _, kind, p in rows if kind == "outcome"]
        return (rows[-1][0] if rows else 0), predictions, outcomes

    def remove_through(self, seq: int) -> None:
        with self._lock, self._db:
            self._db.execute("DELETE FROM entries WHERE seq <= ?", (seq,))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM entries").fetchone()[0]

    def close(self) -> None:
        self._db.close()
