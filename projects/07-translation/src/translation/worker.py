"""A document worker: ``python -m translation.worker``. Built to run on preemptible (spot) capacity:
any worker may be taken away at any moment, and no job is lost or translated twice for it.

- Jobs move from the queue to this worker's own processing list (BLMOVE): a job in hand is always
  on some list in Redis, never only in a process's memory.
- After each batch the translations so far go to S3 (progress.json): that is the checkpoint.
- SIGTERM (the notice a spot instance gets): stop taking jobs, finish the batch in flight within
  TRANSLATION_GRACE_S, checkpoint, hand the job back to the front of the queue, exit 0.
- SIGKILL (no notice): the heartbeat stops; a live worker moves the dead one's jobs back to the
  queue, and the job resumes from its last checkpoint (only the batch in flight is redone).
- Redis may lose the queue: every sweep re-queues from S3 any job not finished and not queued.
- TRANSLATION_IDLE_EXIT_S > 0: exit when idle that long (scale to zero; something starts a worker
  again when the queue is not empty, see local/stack.py and the compose file).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import start_http_server
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from translation import metrics
from translation.documents import UnsupportedDocument, read_document
from translation.engines import EngineUnavailable
from translation.jobs import ALIVE, ENGINE_SEGMENTS, PROCESSING, QUEUE, Jobs, original_key, result_key, translated_name
from translation.logging_config import configure_logging
from translation.settings import Settings
from translation.storage import Storage, StorageUnavailable
from translation.translator import Translator, build_translator

log = logging.getLogger("translation.worker")
LOCK = "translation:lock:"  # + job id: the worker that holds the job


class HandBack(Exception):
    """The worker is stopping: the job goes back to the queue from its last checkpoint."""


class Worker:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.name = settings.worker_name
        self.processing = PROCESSING + self.name
        # decode_responses: job ids and worker names come back as str (str() below is for the type checker)
        self.redis = Redis.from_url(settings.redis_url, socket_timeout=10, decode_responses=True)
        self.storage = Storage(settings)
        self.jobs = Jobs(self.storage, self.redis)
        self.translator: Translator = build_translator(settings, self.redis)
        self.stopping = asyncio.Event()
        self.current: asyncio.Task[str] | None = None

    # --8<-- [start:sigterm]
    def on_sigterm(self) -> None:
        """The preemption notice: no new job; the batch in flight has grace_s to finish."""
        if self.stopping.is_set():
            return
        log.info(
            "SIGTERM: finishing the batch in flight (grace %.0f s), then handing the job back", self.settings.grace_s
        )
        self.stopping.set()
        asyncio.get_running_loop().call_later(self.settings.grace_s, self._out_of_grace)

    def _out_of_grace(self) -> None:
        if self.current is not None and not self.current.done():
            log.warning("grace period over: abandoning the batch in flight (it will be translated again)")
            self.current.cancel()

    # --8<-- [end:sigterm]

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.on_sigterm)
        loop.add_signal_handler(signal.SIGINT, self.on_sigterm)
        await self._until_backends()
        background = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._sweeper())]
        log.info("worker %s ready: taking jobs from %s", self.name, QUEUE)
        idle_since = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    job_id = await self.redis.blmove(QUEUE, self.processing, 1, "RIGHT", "LEFT")
                except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                    log.warning("Redis unavailable, waiting: %s", exc)
                    await asyncio.sleep(1)
                    continue
                if job_id is None:
                    if self.settings.idle_exit_s and time.monotonic() - idle_since > self.settings.idle_exit_s:
                        log.info("idle for %.0f s: exiting (scale to zero)", self.settings.idle_exit_s)
                        break
                    continue
                await self._take(str(job_id))
                idle_since = time.monotonic()
        finally:
            for task in background:
                task.cancel()
            await self.redis.delete(ALIVE + self.name)
            log.info("worker %s stopped", self.name)

    async def _until_backends(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.redis.ping()
                await self.storage.ensure_bucket()
                return
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, StorageUnavailable) as exc:
                log.warning("waiting for Redis and S3: %s", exc)
                await asyncio.sleep(1)

    async def _take(self, job_id: str) -> None:
        if not await self.redis.set(LOCK + job_id, self.name, nx=True, px=self._lease_ms()):
            holder = str(await self.redis.get(LOCK + job_id) or "")
            if holder and await self.redis.exists(ALIVE + holder):
                log.info("job %s is held by %s: dropping this copy", job_id, holder)
                await self.redis.lrem(self.processing, 1, job_id)
                return
            await self.redis.set(LOCK + job_id, self.name, px=self._lease_ms())  # its holder is gone
        self.current = asyncio.create_task(self._process(job_id))
        try:
            outcome = await self.current
        except (asyncio.CancelledError, HandBack):
            outcome = "handed_back"
        except (StorageUnavailable, EngineUnavailable, redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            log.warning("job %s: a backend failed (%s); it goes back to the queue", job_id, exc)
            outcome = "handed_back"
            await asyncio.sleep(self.settings.retry_after_s)
        except Exception as exc:  # a bug, or a document this code cannot handle: the job fails, the worker goes on
            log.exception("job %s failed", job_id)
            outcome = await self._fail(job_id, f"{type(exc).__name__}: {exc}")
        finally:
            self.current = None
        metrics.JOBS.labels(outcome).inc()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(self.processing, 1, job_id)
            if outcome == "handed_back":
                pipe.rpush(QUEUE, job_id)  # the right end: the next BLMOVE takes it first
            pipe.delete(LOCK + job_id)
            await pipe.execute()
        log.info("job %s: %s", job_id, outcome)

    # --8<-- [start:process]
    async def _process(self, job_id: str) -> str:
        record = await self.jobs.get(job_id)
        if record is None or record["status"] in ("done", "failed"):
            return "done"
        original = await self.storage.get(original_key(job_id, record["filename"]))
        try:
            if original is None:
                raise UnsupportedDocument("the original is missing from S3")
            document = read_document(record["filename"], original.decode("utf-8"))
        except (UnsupportedDocument, UnicodeDecodeError) as exc:
            return await self._finish(record, "failed", error=str(exc))
        done = await self.jobs.checkpoint(job_id)  # what a previous worker finished
        record.update(status="running", segments_total=len(document.segments), segments_done=len(done))
        await self.jobs.save(record)
        pending = [i for i in range(len(document.segments)) if str(i) not in done]
        step = self.settings.batch_size

        async def count(n: int) -> None:  # segments about to be sent to an engine, for this job
            await self.redis.incrby(ENGINE_SEGMENTS + job_id, n)

        for start in range(0, len(pending), step):
            if self.stopping.is_set():
                raise HandBack
            chunk = pending[start : start + step]
            outcome = await self.translator.translate(
                [document.segments[i] for i in chunk], record["pair"], record["engine"], before_engine=count
            )
            done.update({str(i): s.text for i, s in zip(chunk, outcome.segments, strict=True)})
            await self.jobs.save_checkpoint(job_id, done)  # the checkpoint: this batch is never redone
            metrics.SEGMENTS_DONE.inc(len(chunk))
            record["segments_done"] = len(done)
            record["fallbacks"] += sum(s.fallback for s in outcome.segments)
            await self.jobs.save(record)
        language = record["pair"].split("-")[1]
        result = document.render([done[str(i)] for i in range(len(document.segments))], language)
        name = translated_name(record["filename"], record["pair"])
        await self.storage.put(result_key(job_id, name), result.encode(), "text/plain; charset=utf-8")
        return await self._finish(record, "done", result=name)

    # --8<-- [end:process]

    async def _finish(self, record: dict[str, Any], status: str, **fields: Any) -> str:
        record.update(status=status, finished=time.time(), **fields)
        await self.jobs.save(record)
        return status

    async def _fail(self, job_id: str, error: str) -> str:
        record = await self.jobs.get(job_id)
        if record is None:
            return "failed"
        return await self._finish(record, "failed", error=error)

    def _lease_ms(self) -> int:
        return int(3000 * self.settings.heartbeat_s)

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self.redis.set(ALIVE + self.name, "1", px=self._lease_ms())
                async for job_id in self._held():
                    await self.redis.pexpire(LOCK + job_id, self._lease_ms())
            except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self.settings.heartbeat_s)

    async def _held(self) -> AsyncIterator[str]:
        for job_id in await self.redis.lrange(self.processing, 0, -1):
            yield str(job_id)

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_every_s)
            try:
                await self.sweep()
            except (redis_errors.ConnectionError, redis_errors.TimeoutError, StorageUnavailable) as exc:
                log.warning("sweep failed: %s", exc)

    # --8<-- [start:sweep]
    async def sweep(self) -> None:
        """Jobs of workers whose heartbeat stopped go back to the queue; then any job S3 says is
        unfinished and no list in Redis holds (Redis lost it) is queued again."""
        held: set[str] = set()
        async for key in self.redis.scan_iter(match=PROCESSING + "*"):
            worker = key.removeprefix(PROCESSING)
            if worker != self.name and not await self.redis.exists(ALIVE + worker):
                while (moved := await self.redis.lmove(key, QUEUE, "RIGHT", "RIGHT")) is not None:
                    log.warning("worker %s is gone: job %s back to the queue", worker, moved)
            held |= {str(j) for j in await self.redis.lrange(key, 0, -1)}
        held |= {str(j) for j in await self.redis.lrange(QUEUE, 0, -1)}
        for key in await self.storage.keys("jobs/"):
            if not key.endswith("/job.json"):
                continue
            job_id = key.split("/")[1]
            if job_id in held:
                continue
            record = await self.jobs.get(job_id)
            if record is not None and record["status"] in ("queued", "running"):
                log.warning("job %s is unfinished and on no list: queued again", job_id)
                await self.jobs.enqueue(job_id)

    # --8<-- [end:sweep]


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, settings.worker_metrics_host)
    asyncio.run(Worker(settings).run())


if __name__ == "__main__":
    main()
