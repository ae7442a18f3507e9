"""The router's client of the LLM deployment (Ray Serve's HTTP proxy): it holds a request while a
replica starts (Serve queues it), and turns Serve's answers into this service's errors."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from autoscaling import metrics


@dataclass
class QueueFull(Exception):
    """Serve's queue for the LLM deployment is full (its 429)."""

    retry_after_s: int


class LLMUnavailable(Exception):
    """No replica could take the request: Serve down, the deployment failing, or the wait too long."""


RETRIES = 2  # for answers that failed before their first byte


class LLMClient:
    def __init__(self, base_url: str, timeout_s: float, hold_s: float = 0):
        self.http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(timeout_s, connect=5))
        self.hold_s = hold_s

    async def close(self) -> None:
        await self.http.aclose()

    async def ready(self) -> bool:
        try:
            return (await self.http.get("/-/routes", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    # --8<-- [start:open]
    async def open(self, body: dict) -> tuple[httpx.Response, float]:
        """Send the request and wait for the answer to begin (a cold start waits here); returns the
        open response and the seconds to its first byte. A replica that fails before its first byte
        (its model server just died, and Ray has not replaced it yet) costs a retry, not the request:
        nothing was generated, so sending it again is safe."""
        started = time.monotonic()
        metrics.WAITING.inc()
        try:
            for attempt in range(RETRIES + 1):
                response = await self._send(body, started)
                if response.status_code < 500 or attempt == RETRIES:
                    break
                await response.aclose()
                await asyncio.sleep(0.5 * 2**attempt)
        finally:
            metrics.WAITING.dec()
        waited = time.monotonic() - started
        metrics.TTFT.observe(waited)
        if waited > 5:
            metrics.COLD_WAITS.inc()
        if response.status_code == 429:
            await response.aclose()
            raise QueueFull(int(response.headers.get("Retry-After", "5")))
        if response.status_code >= 400:  # the router validated the request: any other refusal is the backend's
            await response.aclose()
            raise LLMUnavailable(f"Ray Serve answered {response.status_code}")
        return response, waited

    # --8<-- [end:open]

    async def _send(self, body: dict, started: float) -> httpx.Response:
        """Send; while the backend refuses connections (no replica behind its address yet), retry for
        up to ``hold_s``: the request waits for the first replica instead of failing."""
        delay = 0.25
        while True:
            try:
                request = self.http.build_request("POST", "/v1/chat/completions", json=body)
                return await self.http.send(request, stream=True)
            except httpx.ConnectError as exc:
                if time.monotonic() - started + delay > self.hold_s:
                    raise LLMUnavailable(f"the LLM backend refused the connection: {exc}") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            except httpx.HTTPError as exc:
                raise LLMUnavailable(f"the LLM backend did not answer: {exc}") from None

    async def relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        """The answer's bytes as they come; if the replica dies mid-answer, an SSE error event ends
        the stream (only this stream: the others on other replicas go on)."""
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            metrics.STREAM_FAILURES.inc()
            error = {"error": {"type": "stream-interrupted", "message": "the model replica stopped mid-answer"}}
            yield f"event: error\ndata: {json.dumps(error)}\n\n".encode()
        finally:
            await response.aclose()
