"""Conversation history in Redis: one list per conversation, a TTL, and a lock per conversation."""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError


class StoreUnavailable(RuntimeError):
    """Redis cannot be reached."""


class ConversationBusy(RuntimeError):
    """Another message of the same conversation held the lock for too long."""


class ConversationFull(RuntimeError):
    """The conversation holds as many messages as the store keeps; nothing is dropped to make room."""


REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def redis_client(url: str) -> redis.Redis:
    """One client, one connection pool, for everything the service keeps in Redis."""
    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, health_check_interval=10
    )


class ConversationStore:
    def __init__(self, client: redis.Redis, ttl_s: int, max_messages: int):
        self._redis = client
        self._ttl_s, self.max_messages = ttl_s, max_messages

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except REDIS_DOWN:
            return False

    @staticmethod
    def _key(conversation_id: str) -> str:
        return f"chat:conversation:{conversation_id}"

    async def messages(self, conversation_id: str) -> list[dict]:
        try:
            raw = await self._redis.lrange(self._key(conversation_id), 0, -1)
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc
        return [json.loads(item) for item in raw]

    async def room_for_a_turn(self, conversation_id: str) -> bool:
        """Is there room for one more question and its answer?"""
        try:
            return await self._redis.llen(self._key(conversation_id)) + 2 <= self.max_messages
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def append(self, conversation_id: str, role: str, content: str, **extra) -> dict:
        """Append one message and push the conversation's expiry forward."""
        message = {"role": role, "content": content, "created_at": time.time(), **extra}
        key = self._key(conversation_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rpush(key, json.dumps(message))
                pipe.expire(key, self._ttl_s)
                await pipe.execute()
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc
        return message

    async def delete(self, conversation_id: str) -> bool:
        try:
            return bool(await self._redis.delete(self._key(conversation_id)))
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc

    # --8<-- [start:lock]
    @asynccontextmanager
    async def turn(self, conversation_id: str, wait_s: float, hold_s: float):
        """One turn at a time per conversation, across every instance of the service: a second
        message waits until the first one's answer is stored, so nothing interleaves."""
        lock = self._redis.lock(f"{self._key(conversation_id)}:lock", timeout=hold_s, blocking_timeout=wait_s)
        try:
            acquired = await lock.acquire()
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc
        if not acquired:
            raise ConversationBusy(conversation_id)
        try:
            yield
        finally:
            try:
                await lock.release()
            except (LockError, *REDIS_DOWN):
                pass  # expired or Redis gone: the lock's timeout frees it

    # --8<-- [end:lock]
