"""The translation memory: each segment's translation in Redis, keyed by the pair, the engine, the
engine's version and the normalised source text. A new model version never reads an old entry;
the same sentence in a hundred documents is translated once."""

from __future__ import annotations

import hashlib
import unicodedata

from redis import exceptions as redis_errors
from redis.asyncio import Redis


class MemoryUnavailable(RuntimeError):
    """Redis cannot be reached: translate without the memory (and say so)."""


# --8<-- [start:key]
def normalise(text: str) -> str:
    """What counts as the same source: Unicode NFC, whitespace collapsed, nothing else (case and
    punctuation change a translation)."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def memory_key(pair: str, engine: str, version: str, text: str) -> str:
    digest = hashlib.sha256(normalise(text).encode()).hexdigest()
    return f"translation:tm:{pair}:{engine}:{version}:{digest}"


# --8<-- [end:key]


class TranslationMemory:
    def __init__(self, redis: Redis, ttl_s: int):
        self.redis, self.ttl_s = redis, ttl_s

    async def get_many(self, keys: list[str]) -> list[str | None]:
        if not keys:
            return []
        try:
            values = await self.redis.mget(keys)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            raise MemoryUnavailable(str(exc)) from exc
        return [v.decode() if isinstance(v, bytes) else v for v in values]

    async def put_many(self, entries: dict[str, str]) -> None:
        if not entries:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, value in entries.items():
                    pipe.set(key, value, ex=self.ttl_s)
                await pipe.execute()
        except (redis_errors.ConnectionError, redis_errors.TimeoutError) as exc:
            raise MemoryUnavailable(str(exc)) from exc
