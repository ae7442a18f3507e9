"""Token quotas per tenant, counted in Redis so that every instance of the service shares them."""

from __future__ import annotations

import redis.asyncio as redis

from streaming_llm_chat.conversation_store import REDIS_DOWN, StoreUnavailable
from streaming_llm_chat.settings import TenantConfig


class QuotaExhausted(RuntimeError):
    def __init__(self, tenant: TenantConfig, used: int, retry_after_s: int):
        super().__init__(
            f"tenant {tenant.name!r} has used {used} of its {tenant.tokens_per_window} tokens "
            f"for this window; the window ends in {retry_after_s} s"
        )
        self.tenant, self.retry_after_s = tenant, retry_after_s


# --8<-- [start:quota]
class TokenQuota:
    """A fixed window per tenant that starts with the first tokens charged. Checked before a turn,
    charged after it with what the turn really cost: a tenant can overshoot by the turns it had in
    flight when it crossed the line, never by more."""

    def __init__(self, client: redis.Redis, window_s: int):
        self._redis, self.window_s = client, window_s

    @staticmethod
    def _key(tenant: TenantConfig) -> str:
        return f"chat:tokens-used:{tenant.name}"

    async def check(self, tenant: TenantConfig) -> None:
        if tenant.tokens_per_window is None:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._key(tenant))  # queued, sent by execute()
                pipe.ttl(self._key(tenant))
                used, ttl = await pipe.execute()
        except REDIS_DOWN as exc:
            raise StoreUnavailable(str(exc)) from exc
        if used is not None and int(used) >= tenant.tokens_per_window:
            raise QuotaExhausted(tenant, int(used), retry_after_s=max(int(ttl), 1))

    async def charge(self, tenant: TenantConfig, tokens: int) -> None:
        if tenant.tokens_per_window is None or tokens <= 0:
            return
        async with self._redis.pipeline(transaction=True) as pipe:  # MULTI: the window and the sum together
            pipe.set(self._key(tenant), 0, ex=self.window_s, nx=True)  # opens a window if none is open
            pipe.incrby(self._key(tenant), tokens)
            await pipe.execute()


# --8<-- [end:quota]
