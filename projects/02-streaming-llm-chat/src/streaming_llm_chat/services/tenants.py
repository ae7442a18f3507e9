"""Tenants sharing one deployment: who is asking (an API key), and how much of the shared model
one tenant may hold at once, so that one tenant's burst cannot take the slots of all the others."""

from __future__ import annotations

import hashlib
from collections import Counter
from contextlib import asynccontextmanager

from streaming_llm_chat.settings import TenantConfig

# With no tenants configured, every request belongs to this one (the local demo needs no key).
PUBLIC = TenantConfig(name="public", key_sha256="0" * 64, max_streams=1_000_000)


class Unauthenticated(RuntimeError):
    """No API key, or a key that belongs to no tenant."""


class TenantBusy(RuntimeError):
    def __init__(self, tenant: TenantConfig):
        super().__init__(
            f"tenant {tenant.name!r} already has {tenant.max_streams} messages in flight or "
            "waiting, its share of this instance"
        )
        self.tenant = tenant


# --8<-- [start:directory]
class TenantDirectory:
    def __init__(self, tenants: list[TenantConfig]):
        self.open = not tenants
        self._by_key_hash = {tenant.key_sha256: tenant for tenant in tenants}

    def authenticate(self, api_key: str | None) -> TenantConfig:
        if self.open:
            return PUBLIC
        if not api_key:
            raise Unauthenticated("this service needs an API key: Authorization: Bearer <key>")
        # Looked up by the key's hash: what is compared is a digest an attacker cannot steer.
        tenant = self._by_key_hash.get(hashlib.sha256(api_key.encode()).hexdigest())
        if tenant is None:
            raise Unauthenticated("this API key belongs to no tenant")
        return tenant


# --8<-- [end:directory]


def conversation_key(tenant: TenantConfig, conversation_id: str) -> str:
    """Where a tenant's conversation lives: two tenants may both own a conversation called "demo".
    Neither part may contain ':' (both are validated), so the pair is never ambiguous."""
    return f"{tenant.name}:{conversation_id}"


# --8<-- [start:salt]
def prefix_cache_salt(tenant: TenantConfig) -> str | None:
    """A secret per tenant for the LLM server's prefix cache (vLLM's ``cache_salt``): prompts are
    reused only within a tenant, so no tenant can time its requests to learn what another one
    sent. Derived from the key's hash: unguessable without the key, new when the key is rotated."""
    if tenant is PUBLIC:
        return None
    return hashlib.sha256(f"prefix-cache-salt:{tenant.key_sha256}".encode()).hexdigest()


# --8<-- [end:salt]


# --8<-- [start:slots]
class TenantSlots:
    """Per tenant, at most ``max_streams`` turns admitted or waiting on this instance. Checked
    before the shared admission: a tenant over its share is refused at once, without taking a
    place in the shared waiting line that another tenant could have used."""

    def __init__(self):
        self.held: Counter[str] = Counter()

    @asynccontextmanager
    async def slot(self, tenant: TenantConfig):
        if self.held[tenant.name] >= tenant.max_streams:  # no await before the increment: no race
            raise TenantBusy(tenant)
        self.held[tenant.name] += 1
        try:
            yield
        finally:
            self.held[tenant.name] -= 1


# --8<-- [end:slots]
