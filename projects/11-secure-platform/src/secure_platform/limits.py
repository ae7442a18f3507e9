"""Per-tenant limits in Redis, correct across any number of API instances: each check is one Lua
script, which Redis runs atomically, on keys named by tenant.

- a token bucket (rate and burst), timed by Redis's own clock so that instances need not agree;
- a set of leases for inferences in flight (each expires, so a crashed instance frees its slots);
- a counter per calendar month (UTC) for the quota.

Also the revoked tokens: a token id logged out is kept until the token would have expired."""

from __future__ import annotations

import calendar
import math
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from secure_platform.settings import Limits

# --8<-- [start:bucket]
TOKEN_BUCKET = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now_ms
tokens = math.min(burst, tokens + (now_ms - at) * rate / 1000)
local allowed, wait_ms = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, math.floor(tokens), wait_ms}
"""
# --8<-- [end:bucket]

# Leases: a sorted set of request ids scored by when they lapse.
ACQUIRE_LEASE = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

COUNT_QUOTA = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
if used > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return -1 end
return used
"""


@dataclass
class Refused(Exception):
    """A limit said no: ``kind`` is "rate", "concurrency" or "quota"."""

    kind: str
    retry_after_s: int
    limit: int


@dataclass(frozen=True)
class Admission:
    limit: int  # the bucket's size
    remaining: int  # tokens left in it


def seconds_to_month_end(now: datetime) -> int:
    days = calendar.monthrange(now.year, now.month)[1]
    end = now.replace(day=days, hour=23, minute=59, second=59, microsecond=0)
    return max(1, math.ceil((end - now).total_seconds()) + 1)


class TenantLimits:
    def __init__(self, redis: Redis, lease_ms: int):
        self.redis, self.lease_ms = redis, lease_ms
        self._bucket = redis.register_script(TOKEN_BUCKET)
        self._lease = redis.register_script(ACQUIRE_LEASE)
        self._quota = redis.register_script(COUNT_QUOTA)

    async def admit(self, tenant: str, limits: Limits) -> Admission:
        """Take one token from the bucket and count one request against the month's quota."""
        allowed, remaining, wait_ms = await self._bucket(
            keys=[f"limits:{tenant}:bucket"], args=[limits.rate_per_s, limits.burst]
        )
        if not allowed:
            raise Refused("rate", max(1, math.ceil(int(wait_ms) / 1000)), limits.burst)
        now = datetime.now(UTC)
        month_s = seconds_to_month_end(now)
        used = await self._quota(
            keys=[f"limits:{tenant}:quota:{now:%Y-%m}"], args=[limits.monthly_quota, month_s + 86400]
        )
        if int(used) < 0:
            raise Refused("quota", month_s, limits.monthly_quota)
        return Admission(limit=limits.burst, remaining=int(remaining))

    @asynccontextmanager
    async def slot(self, tenant: str, limits: Limits) -> AsyncIterator[None]:
        """One of the tenant's concurrent inferences, held for the block."""
        key, lease = f"limits:{tenant}:inflight", uuid.uuid4().hex
        if not await self._lease(keys=[key], args=[limits.concurrent, self.lease_ms, lease]):
            raise Refused("concurrency", 1, limits.concurrent)
        try:
            yield
        finally:
            await self.redis.zrem(key, lease)

    async def revoke(self, token_id: str, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()) + 60)
        await self.redis.set(f"revoked:{token_id}", "1", ex=ttl)

    async def is_revoked(self, token_id: str) -> bool:
        return bool(token_id) and bool(await self.redis.exists(f"revoked:{token_id}"))
