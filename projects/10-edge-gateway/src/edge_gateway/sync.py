"""Store-and-forward: the outbox goes to the cloud in batches, oldest first, when the cloud answers.

Each entry carries its own key (a result's id, a summary's span) and each batch an Idempotency-Key
(the gateway and the batch's first and last entry): the cloud stores an entry once however often it
arrives. An entry leaves the outbox only after the cloud acknowledged the batch that carried it; a
crash between the cloud's commit and the gateway's delete means one batch is sent again, and the
cloud ignores what it already has. Failures wait longer each time, with full jitter (so a hundred
gateways coming back online do not call in step), and a 429 or 503 waits as long as Retry-After says."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import httpx

from edge_gateway import metrics
from edge_gateway.settings import Settings
from edge_gateway.store import StorageUnavailable, Store

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """A batch the cloud did not take: ``kind`` (unreachable, status, refused) is the metric's label."""

    def __init__(self, kind: str, detail: str, after_s: float | None = None):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.after_s = kind, after_s


class Forwarder:
    def __init__(self, settings: Settings, store: Store):
        self.settings, self.store = settings, store
        self.failures = 0  # consecutive
        self._client = httpx.AsyncClient(
            base_url=settings.cloud_url or "http://cloud.invalid",
            timeout=httpx.Timeout(10.0, connect=3.0),
            headers={"Authorization": f"Bearer {settings.gateway_token}"},
        )

    # --8<-- [start:send]
    async def send_batch(self) -> int:
        """One batch; returns how many entries the cloud acknowledged (0: nothing to send)."""
        entries = await asyncio.to_thread(self.store.oldest, self.settings.sync_batch)
        if not entries:
            return 0
        body = {
            "gateway_id": self.settings.gateway_id,
            "entries": [{"kind": kind, "key": key, "body": payload} for _, kind, key, payload in entries],
        }
        batch_key = f"{self.settings.gateway_id}:{entries[0][2]}:{entries[-1][2]}:{len(entries)}"
        try:
            response = await self._client.post("/v1/results", json=body, headers={"Idempotency-Key": batch_key})
        except httpx.HTTPError as exc:
            raise RetryLater("unreachable", type(exc).__name__) from None
        if response.status_code in (429, 503):
            raise RetryLater("status", str(response.status_code), _retry_after(response))
        if response.status_code >= 500:
            raise RetryLater("status", str(response.status_code))
        if response.status_code >= 400:
            # The cloud refuses the batch itself (a bug, a revoked gateway): keep it, say so loudly.
            raise RetryLater("refused", f"{response.status_code}: {response.text[:200]}")
        await asyncio.to_thread(self.store.acknowledge, [seq for seq, *_ in entries])
        metrics.FORWARDED.inc(len(entries))
        metrics.LAST_SYNC.set(time.time())
        return len(entries)

    # --8<-- [end:send]

    def backoff(self, failure: RetryLater) -> float:
        """Full jitter: uniform between 0 and min(cap, interval x 2^failures); Retry-After wins."""
        if failure.after_s is not None:
            return min(failure.after_s, self.settings.backoff_max_s)
        ceiling = min(self.settings.backoff_max_s, self.settings.sync_interval_s * 2**self.failures)
        return random.uniform(0, ceiling)

    async def run(self) -> None:
        while True:
            wait = self.settings.sync_interval_s
            try:
                await asyncio.to_thread(self.store.trim_cache, self.settings.cache_entries)
                summarised = await asyncio.to_thread(self.store.bound_outbox, self.settings.outbox_max)
                if summarised:
                    metrics.SUMMARISED.inc(summarised)
                    log.warning("outbox full: %d oldest results summarised", summarised)
                if self.settings.cloud_url:
                    while await self.send_batch() == self.settings.sync_batch:
                        pass  # a long offline period: drain without waiting between full batches
                self.failures = 0
            except RetryLater as failure:
                self.failures += 1
                metrics.SYNC_FAILURES.labels(failure.kind).inc()
                wait = self.backoff(failure)
                log.info("sync failed (%s); next try in %.1f s", failure, wait)
            except StorageUnavailable as exc:
                log.error("sync: storage unavailable: %s", exc)
            try:
                metrics.OUTBOX.set(await asyncio.to_thread(self.store.outbox_size))
            except StorageUnavailable:
                pass
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self._client.aclose()


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None
