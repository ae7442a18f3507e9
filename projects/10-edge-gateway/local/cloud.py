"""The cloud side the gateway talks to, as a real HTTP service the harness starts: it receives
forwarded results (storing each entry once, counting every arrival) and serves model bundles.

It has a fault switch, so the tests can make it slow, failing or rate-limiting while the gateway
runs, as a real network and a real cloud do: ``POST /admin/fault {"mode": "ok" | "error" |
"rate_limited" | "slow", "retry_after_s": 2, "delay_s": 3}``.

    CLOUD_DIR=... CLOUD_TOKEN=... uvicorn --factory study.local.edge_gateway.cloud:create_app"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, gateway_id TEXT, kind TEXT, body TEXT, received_at REAL);
CREATE TABLE IF NOT EXISTS arrivals (key TEXT, batch_key TEXT, at REAL);
"""


def create_app() -> FastAPI:
    folder = Path(os.environ["CLOUD_DIR"])
    token = os.environ.get("CLOUD_TOKEN", "")
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "cloud.sqlite3", check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    lock = threading.Lock()
    fault: dict[str, Any] = {"mode": "ok", "retry_after_s": 2, "delay_s": 3}
    app = FastAPI(title="Edge gateway's cloud (local)")

    @app.post("/v1/results")
    async def receive(request: Request, idempotency_key: str = Header(alias="Idempotency-Key")) -> JSONResponse:
        if request.headers.get("Authorization") != f"Bearer {token}":
            raise HTTPException(401, "unknown gateway")
        if fault["mode"] == "error":
            return JSONResponse({"detail": "injected failure"}, status_code=500)
        if fault["mode"] == "rate_limited":
            return JSONResponse({"detail": "slow down"}, 429, headers={"Retry-After": str(fault["retry_after_s"])})
        if fault["mode"] == "slow":
            await asyncio.sleep(float(fault["delay_s"]))
        body = await request.json()
        stored = 0
        with lock:
            db.execute("BEGIN IMMEDIATE")
            for entry in body["entries"]:
                db.execute("INSERT INTO arrivals VALUES (?, ?, ?)", (entry["key"], idempotency_key, time.time()))
                cursor = db.execute(
                    "INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?)",
                    (entry["key"], body["gateway_id"], entry["kind"], json.dumps(entry["body"]), time.time()),
                )
                stored += cursor.rowcount
            db.execute("COMMIT")
        return JSONResponse({"stored": stored, "duplicates": len(body["entries"]) - stored})

    @app.get("/v1/results/stats")
    def stats() -> dict[str, Any]:
        with lock:
            arrivals = db.execute("SELECT count(*) FROM arrivals").fetchone()[0]
            kinds = dict(db.execute("SELECT kind, count(*) FROM entries GROUP BY kind").fetchall())
            summarised = db.execute(
                "SELECT coalesce(sum(json_extract(body, '$.count')), 0) FROM entries WHERE kind = 'summary'"
            ).fetchone()[0]
        return {
            "arrivals": arrivals,
            "stored": sum(kinds.values()),
            "by_kind": kinds,
            "results_in_summaries": summarised,
        }

    @app.get("/v1/results/keys")
    def keys(kind: str = "result") -> list[str]:
        with lock:
            return [row[0] for row in db.execute("SELECT key FROM entries WHERE kind = ?", (kind,)).fetchall()]

    @app.post("/admin/fault")
    async def set_fault(request: Request) -> dict[str, Any]:
        fault.update(await request.json())
        return fault

    @app.get("/v1/bundles/latest")
    def latest() -> JSONResponse:
        pointer = folder / "bundles" / "latest"
        if not pointer.exists():
            raise HTTPException(404, "no bundle published")
        version = pointer.read_text().strip()
        return JSONResponse(json.loads((folder / "bundles" / version / "bundle.json").read_text()))

    @app.get("/v1/bundles/{version}/model.onnx")
    def model_file(version: str) -> FileResponse:
        path = folder / "bundles" / version / "model.onnx"
        if "/" in version or ".." in version or not path.exists():
            raise HTTPException(404, "no such bundle")
        return FileResponse(path)

    return app
