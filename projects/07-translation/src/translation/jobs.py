"""Document jobs. A job's record, its checkpoint and its files live in S3 (storage.py); Redis holds
the queue, each worker's processing list and heartbeat, and a per-job count of segments sent to an
engine (the proof that no segment was translated twice).

    POST /v1/documents -> original + job.json (queued) to S3 -> id on translation:queue
    worker: BLMOVE queue -> its processing list -> batches -> progress.json after each batch
            -> result to S3, job.json done -> id off its processing list
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from redis.asyncio import Redis

from translation.storage import Storage

QUEUE = "translation:queue"
PROCESSING = "translation:processing:"  # + worker name
ALIVE = "translation:alive:"  # + worker name, expires when its heartbeats stop
ENGINE_SEGMENTS = "translation:engine-segments:"  # + job id


def new_job_id() -> str:
    return uuid.uuid4().hex


def prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


def original_key(job_id: str, filename: str) -> str:
    return f"{prefix(job_id)}original/{filename}"


def result_key(job_id: str, filename: str) -> str:
    return f"{prefix(job_id)}result/{filename}"


def translated_name(filename: str, pair: str) -> str:
    stem, _, suffix = filename.rpartition(".")
    return f"{stem}.{pair.split('-')[1]}.{suffix}"


class Jobs:
    def __init__(self, storage: Storage, redis: Redis):
        self.storage, self.redis = storage, redis

    async def create(
        self, filename: str, body: bytes, content_type: str, pair: str, engine: str | None
    ) -> dict[str, Any]:
        job_id = new_job_id()
        await self.storage.put(original_key(job_id, filename), body, content_type)
        record = {
            "id": job_id,
            "filename": filename,
            "pair": pair,
            "engine": engine,
            "status": "queued",
            "segments_total": None,
            "segments_done": 0,
            "fallbacks": 0,
            "created": time.time(),
            "finished": None,
            "error": None,
        }
        await self.save(record)
        return record

    async def enqueue(self, job_id: str) -> None:
        await self.redis.lpush(QUEUE, job_id)

    async def save(self, record: dict[str, Any]) -> None:
        await self.storage.put_json(f"{prefix(record['id'])}job.json", record)

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return await self.storage.get_json(f"{prefix(job_id)}job.json")

    async def checkpoint(self, job_id: str) -> dict[str, str]:
        """Translations done so far, by segment index (as strings: JSON keys)."""
        return (await self.storage.get_json(f"{prefix(job_id)}progress.json")) or {}

    async def save_checkpoint(self, job_id: str, done: dict[str, str]) -> None:
        await self.storage.put_json(f"{prefix(job_id)}progress.json", done)

    async def engine_segments(self, job_id: str) -> int:
        return int(await self.redis.get(ENGINE_SEGMENTS + job_id) or 0)
