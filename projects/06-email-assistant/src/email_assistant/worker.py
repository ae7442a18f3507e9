"""The worker: takes message ids from the Redis queue and moves each message's graph as far as it
can go: to the end, or to the approval that waits for a person.

    python -m email_assistant.worker

Nothing accepted is lost: an id is moved (BLMOVE) to this worker's processing list while it works
on it, and a worker that starts puts back what is left there and what the database says is
unfinished. Nothing is done twice: the graph resumes from its last checkpoint, a PostgreSQL
advisory lock keeps two workers off one message, and a reply is sent once (steps.send)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any, cast

import httpx
import psycopg
import redis.exceptions
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.types import Command
from prometheus_client import start_http_server
from psycopg_pool import PoolTimeout
from redis.asyncio import Redis

from email_assistant import metrics
from email_assistant.classifier import TriageModel
from email_assistant.graph import build
from email_assistant.intake import DELAYED, QUEUE, processing_list
from email_assistant.llm_client import LLMClient, LLMUnavailable
from email_assistant.logging_config import configure_logging
from email_assistant.settings import Settings
from email_assistant.steps import Assistant, RelayUnavailable
from email_assistant.store import FINISHED, Store, open_pool
from email_assistant.tools import Tools

log = logging.getLogger(__name__)
BACKEND_ERRORS = {LLMUnavailable: "llm", RelayUnavailable: "smtp-relay"}
DATABASE_ERRORS = (psycopg.OperationalError, PoolTimeout)


class Worker:
    def __init__(self, settings: Settings, store: Store, redis: Redis, graph: Any):
        self.settings, self.store, self.redis, self.graph = settings, store, redis, graph
        self.processing = processing_list(settings.worker_name)
        self.stopping = asyncio.Event()

    async def recover(self) -> None:
        """Put back what this worker held when it stopped, then sweep."""
        while await self.redis.lmove(self.processing, QUEUE, "LEFT", "RIGHT"):
            pass
        await self.sweep()

    async def sweep(self) -> None:
        """Queue what the database says has work left and the queue does not hold: the queue lives
        in Redis, which may have lost it, or been down when it was to be queued."""
        queued = {int(i) for i in await self.redis.lrange(QUEUE, 0, -1)}
        queued |= {int(i) for i in cast(list[bytes], await self.redis.zrange(DELAYED, 0, -1))}
        for message in await self.store.unfinished():
            if message not in queued:
                await self.redis.lpush(QUEUE, message)

    async def promote_due(self) -> None:
        """Messages whose retry time has come go back on the queue."""
        due = cast(list[bytes], await self.redis.zrangebyscore(DELAYED, 0, time.time()))
        for member in due:
            if await self.redis.zrem(DELAYED, member):
                await self.redis.lpush(QUEUE, member)

    async def run(self) -> None:
        await self.recover()
        log.info("worker %s ready", self.settings.worker_name)
        swept = time.monotonic()
        while not self.stopping.is_set():
            try:
                if time.monotonic() - swept > self.settings.sweep_every_s:
                    await self.sweep()
                    swept = time.monotonic()
                await self.promote_due()
                raw = await self.redis.blmove(QUEUE, self.processing, 1, "RIGHT", "LEFT")
            except (redis.exceptions.ConnectionError, *DATABASE_ERRORS) as exc:
                log.warning("Redis or PostgreSQL unreachable (%s); trying again", type(exc).__name__)
                await asyncio.sleep(1)
                continue
            if raw is None:
                continue
            await self.handle(int(raw))
            await self.redis.lrem(self.processing, 1, str(int(raw)))

    # --8<-- [start:handle]
    async def handle(self, message: int) -> None:
        try:
            await self.advance(message)
        except tuple(BACKEND_ERRORS) as exc:
            await self.retry_later(message, BACKEND_ERRORS[type(exc)], str(exc))
        except DATABASE_ERRORS as exc:
            log.warning("PostgreSQL unreachable while on message %s: %s", message, exc)
            metrics.RETRIES.labels("postgresql").inc()
            await self.redis.zadd(DELAYED, {str(message): time.time() + self.settings.retry_backoff_s})
        except Exception as exc:  # a bug, or a message no step can handle: a person looks at it
            log.exception("message %s failed", message)
            await self.escalate(message, "error", f"{type(exc).__name__}: {exc}")

    async def retry_later(self, message: int, backend: str, error: str) -> None:
        """Back off and try again (5 s, 10 s, 20 s, ... by default); after llm_retries tries, hand
        the message to a person: it is escalated, with the reason in its decision log."""
        attempts = await self.store.count_attempt(message)
        metrics.RETRIES.labels(backend).inc()
        if attempts > self.settings.llm_retries:
            log.warning("message %s escalated after %d failed runs (%s)", message, attempts, backend)
            await self.escalate(message, f"{backend} unavailable", error, attempts=attempts)
            return
        delay = self.settings.retry_backoff_s * 2 ** (attempts - 1)
        log.info("message %s: %s unavailable, retry %d in %.1f s", message, backend, attempts, delay)
        await self.redis.zadd(DELAYED, {str(message): time.time() + delay})

    async def escalate(self, message: int, reason: str, error: str, **more: Any) -> None:
        await self.store.set_state(message, "escalated")
        await self.store.log_decision(message, "escalated", {}, {"reason": reason, **more, "error": error[:300]}, 0.0)
        row = await self.store.message(message)
        metrics.MESSAGES.labels((row or {}).get("category") or "unknown", "escalated").inc()

    # --8<-- [end:handle]

    # --8<-- [start:advance]
    async def advance(self, message: int) -> None:
        async with self.store.pool.connection() as lock:
            cursor = await lock.execute("SELECT pg_try_advisory_lock(%s) AS got", (message,))
            got = cast(dict[str, bool] | None, await cursor.fetchone())
            if not got or not got["got"]:
                return  # another worker has it
            try:
                await self._advance(message)
            finally:
                await lock.execute("SELECT pg_advisory_unlock(%s)", (message,))

    async def _advance(self, message: int) -> None:
        row = await self.store.message(message)
        if row is None or row["state"] in FINISHED or row["state"] == "held":
            return
        config = {"configurable": {"thread_id": f"message-{message}"}}
        snapshot = await self.graph.aget_state(config)
        if "approval" in snapshot.next:  # waiting for a person: go on only if they decided
            decision = await self.store.approval(message)
            if decision is None or decision["action"] is None:
                return
            command: Any = Command(
                resume={"action": decision["action"], "body": decision["final_body"], "reason": decision["reason"]}
            )
        elif snapshot.next:  # stopped half-way (a crash, a backend down): on from the last checkpoint
            command = None
        elif snapshot.values:  # finished
            return
        else:
            command = {"message": message}
        await self.graph.ainvoke(command, config, durability="sync")
        state = await self.graph.aget_state(config)
        if not state.next:
            metrics.STEPS_PER_MESSAGE.observe(await self.store.step_count(message))

    # --8<-- [end:advance]


async def main(settings: Settings) -> None:
    configure_logging(settings.log_level)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)
    pool = open_pool(settings.database_url)
    await pool.open(wait=True, timeout=60)
    store = Store(pool)
    await store.setup()
    saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
    await saver.setup()
    llm = LLMClient(settings.llm_base_url, settings.llm_model, settings.llm_timeout_s, settings.llm_structured_output)
    http = httpx.AsyncClient()
    triage = TriageModel.load(settings.classifier_file) if settings.triage_model == "classifier" else None
    assistant = Assistant(store, llm, Tools(store, http, settings.course_search_url), triage, settings)
    graph = build(assistant).compile(checkpointer=saver)
    redis = Redis.from_url(settings.redis_url)
    worker = Worker(settings, store, redis, graph)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stopping.set)
    try:
        await worker.run()
    finally:
        await redis.aclose()
        await http.aclose()
        await llm.close()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(Settings()))
