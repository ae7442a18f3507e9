"""One turn of a conversation: admit it, serialise it with its conversation, stream the answer,
store both sides. Everything a turn holds is released when its stream ends, however it ends."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from streaming_llm_chat import metrics
from streaming_llm_chat.conversation_store import REDIS_DOWN, ConversationFull, ConversationStore
from streaming_llm_chat.llm_client import LLMUnavailable
from streaming_llm_chat.services.admission import Admission
from streaming_llm_chat.services.context import TokenCounter, build_prompt, prompt_tokens
from streaming_llm_chat.services.routing import LLMRouter
from streaming_llm_chat.services.tenants import TenantSlots, conversation_key, prefix_cache_salt
from streaming_llm_chat.settings import Settings, TenantConfig
from streaming_llm_chat.tenant_quota import TokenQuota

log = logging.getLogger(__name__)


@dataclass
class TurnEvent:
    kind: str  # "token", "done" or "error"
    data: dict = field(default_factory=dict)


class ChatService:
    def __init__(
        self,
        settings: Settings,
        llm: LLMRouter,
        store: ConversationStore,
        counter: TokenCounter,
        admission: Admission,
        tenant_slots: TenantSlots,
        quota: TokenQuota,
    ):
        self.settings, self.llm, self.store = settings, llm, store
        self.counter, self.admission = counter, admission
        self.tenant_slots, self.quota = tenant_slots, quota

    # --8<-- [start:open-turn]
    async def open_turn(self, tenant: TenantConfig, conversation: str, content: str, max_tokens: int) -> Turn:
        """Everything that can refuse the request happens here, before any byte is streamed:
        the tenant's quota, the tenant's share, the conversation's lock, the shared slots."""
        accepted = time.perf_counter()
        conversation_id = conversation_key(tenant, conversation)
        await self.quota.check(tenant)
        held = AsyncExitStack()
        try:
            await held.enter_async_context(self.tenant_slots.slot(tenant))
            await held.enter_async_context(
                self.store.turn(
                    conversation_id, wait_s=self.settings.queue_timeout_s, hold_s=self.settings.llm_timeout_s + 30
                )
            )
            if not await self.store.room_for_a_turn(conversation_id):
                raise ConversationFull(conversation_id)
            await held.enter_async_context(self.admission.slot())
            await self.store.append(conversation_id, "user", content)  # accepted: never lost
            history = await self.store.messages(conversation_id)
        except BaseException:
            await held.aclose()
            raise
        budget = self.settings.context_window_tokens - max_tokens
        prompt = build_prompt(self.settings.system_prompt, history, self.counter, budget)
        return Turn(self, tenant, conversation_id, prompt, max_tokens, accepted, held)

    # --8<-- [end:open-turn]

    async def charge(self, tenant: TenantConfig, prompt: int, completion: int) -> None:
        """What a turn cost, for the tenant's metrics and quota; kept even if the client left."""
        metrics.TENANT_TOKENS.labels(tenant.name, "prompt").inc(prompt)
        metrics.TENANT_TOKENS.labels(tenant.name, "completion").inc(completion)
        try:
            await self.quota.charge(tenant, prompt + completion)
        except REDIS_DOWN as exc:  # the answer is already out; say so loudly rather than fail it
            log.error("tokens not charged to tenant %s: %s", tenant.name, exc)


class Turn:
    def __init__(
        self,
        chat: ChatService,
        tenant: TenantConfig,
        conversation_id: str,
        prompt: list[dict],
        max_tokens: int,
        accepted: float,
        held: AsyncExitStack,
    ):
        self.chat, self.tenant, self.conversation_id = chat, tenant, conversation_id
        self.prompt, self.max_tokens = prompt, max_tokens
        self.accepted, self.held = accepted, held

    # --8<-- [start:events]
    async def events(self) -> AsyncIterator[TurnEvent]:
        pieces: list[str] = []
        first_at = last_at = None
        usage: dict = {}
        finish_reason = None
        finished = False
        try:
            async for delta in self.chat.llm.stream(
                self.conversation_id, self.prompt, self.max_tokens, prefix_cache_salt(self.tenant)
            ):
                if delta.completion_tokens is not None:
                    usage = {"prompt_tokens": delta.prompt_tokens, "completion_tokens": delta.completion_tokens}
                finish_reason = delta.finish_reason or finish_reason
                if not delta.text:
                    continue
                now = time.perf_counter()
                if first_at is None:
                    first_at = now
                    metrics.TTFT_SECONDS.observe(now - self.accepted)
                elif last_at is not None:
                    metrics.INTER_TOKEN_SECONDS.observe(now - last_at)
                last_at = now
                pieces.append(delta.text)
                yield TurnEvent("token", {"text": delta.text})
            answer = "".join(pieces)
            await self.chat.store.append(self.conversation_id, "assistant", answer)
            finished = True
            summary = self._summary(answer, usage, finish_reason, first_at, last_at)
            await self.chat.charge(self.tenant, **self._cost(summary["usage"]["completion_tokens"], usage))
            yield TurnEvent("done", summary)
        except LLMUnavailable as exc:
            finished = True
            yield TurnEvent(
                "error",
                {
                    "type": "/problems/backend-unavailable",
                    "title": "Service Unavailable",
                    "status": 503,
                    "backend": "llm",
                    "detail": f"the LLM server failed mid-answer: {exc}",
                },
            )
        finally:
            if not finished:  # the client left mid-answer
                metrics.CANCELLED.inc()
                if pieces:  # keep what it saw, marked as cut off, and charge what it cost
                    await asyncio.shield(
                        self.chat.store.append(self.conversation_id, "assistant", "".join(pieces), interrupted=True)
                    )
                    await asyncio.shield(
                        self.chat.charge(self.tenant, **self._cost(self.chat.counter.count("".join(pieces)), {}))
                    )
            await self.held.aclose()

    # --8<-- [end:events]

    def _cost(self, completion: int, usage: dict) -> dict:
        prompt = usage.get("prompt_tokens") or prompt_tokens(self.prompt, self.chat.counter)
        return {"prompt": prompt, "completion": completion}

    def _summary(self, answer: str, usage: dict, finish_reason, first_at, last_at) -> dict:
        completion = usage.get("completion_tokens") or self.chat.counter.count(answer)
        metrics.TOKENS_GENERATED.inc(completion)
        ttft_ms = (first_at - self.accepted) * 1000 if first_at else None
        generating_s = (last_at - first_at) if first_at and last_at and last_at > first_at else None
        return {
            "finish_reason": finish_reason,
            "usage": {
                "prompt_tokens": usage.get("prompt_tokens"),
                "completion_tokens": completion,
                "source": "llm-server" if usage else "tokenizer",
            },
            "timings": {
                "ttft_ms": ttft_ms,
                "total_ms": (time.perf_counter() - self.accepted) * 1000,
                "tokens_per_s": (completion - 1) / generating_s if generating_s else None,
            },
        }
