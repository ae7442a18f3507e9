"""Accepting a message, from the SMTP listener or the API, the same way.

Order matters for "nothing accepted is lost, nothing handled twice". The row in PostgreSQL is the
acceptance (its unique Message-ID makes a second delivery a lookup), and only then is the id queued.
Redis holds what is short-lived and shared between instances: a fast duplicate check before any
work, a per-sender counter, and the work queue, which a worker can rebuild from the database."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from email_assistant import metrics
from email_assistant.mail import parse
from email_assistant.store import Store

QUEUE = "email_assistant:queue"
DELAYED = "email_assistant:delayed"  # a sorted set: message id, scored by when to try it again
SEEN_FOR_S = 7 * 24 * 3600


def processing_list(worker: str) -> str:
    return f"email_assistant:processing:{worker}"


class MessageTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Accepted:
    message: int  # messages.id
    duplicate: bool  # the same Message-ID was accepted before: nothing new was queued
    held: bool  # over the sender's hourly limit: stored, not processed
    state: str


class Intake:
    def __init__(self, store: Store, redis: Redis, max_bytes: int, per_hour: int):
        self.store, self.redis, self.max_bytes, self.per_hour = store, redis, max_bytes, per_hour

    # --8<-- [start:accept]
    async def accept(self, raw: bytes, channel: str) -> Accepted:
        """Store and queue one raw message. Raises MessageTooLarge, mail.UnreadableMail (the
        sender's problem) or a PostgreSQL/Redis error (ours: nothing was accepted, retry)."""
        if len(raw) > self.max_bytes:
            raise MessageTooLarge(f"{len(raw)} bytes; the limit is {self.max_bytes}")
        mail = parse(raw)
        seen = f"email_assistant:seen:{mail.message_id}"
        first_time = await self.redis.set(seen, 1, nx=True, ex=SEEN_FOR_S)
        try:
            held = first_time and await self._over_limit(mail.sender)
            stored = await self.store.insert_message(mail, raw, "held" if held else "queued")
        except BaseException:
            if first_time:  # not accepted after all: the sender's retry must not look like a copy
                await self.redis.delete(seen)
            raise
        if stored.created and not held:
            await self.redis.lpush(QUEUE, stored.id)
        result = "duplicate" if not stored.created else "held" if held else "queued"
        metrics.ACCEPTED.labels(channel, result).inc()
        return Accepted(stored.id, not stored.created, stored.state == "held", stored.state)

    # --8<-- [end:accept]

    async def _over_limit(self, sender: str) -> bool:
        key = f"email_assistant:rate:{sender}:{int(time.time() // 3600)}"
        count = await self.redis.incr(key)
        if count == 1:
            await self.redis.expire(key, 3600)
        return count > self.per_hour
