"""One turn of a conversation: admit it, serialise it with its conversation, stream the answer,
store both sides. Everything a turn holds is released when its stream ends, however it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from streaming_chat import metrics
from streaming_chat.conversation_store import ConversationFull, ConversationStore
from streaming_chat.llm_client import LLMUnavailable
from streaming_chat.services.admission import Admission
from streaming_chat.services.context import TokenCounter, build_prompt
from streaming_chat.services.routing import LLMRouter
from streaming_chat.settings import Settings


@dataclass
class TurnEvent:
    kind: str  # "token", "done" or "error"
    data: dict = field(default_factory=dict)


class ChatService:
    def __init__(self, settings: Settings, llm: LLMRouter, store: ConversationStore,
                 counter: TokenCounter, admission: Admission):
        self.settings, self.llm, self.store = settings, llm, store
        self.counter, self.admission = counter, admission

    async def open_turn(self, conversation_id: str, content: str, max_tokens: int) -> Turn:
        """Everything that can refuse the request happens here, before any byte is streamed."""
        accepted = time.perf_counter()
        held = AsyncExitStack()
        try:
            await held.enter_async_context(self.store.turn(
                conversation_id, wait_s=self.settings.queue_timeout_s,
                hold_s=self.settings.llm_timeout_s + 30))
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
        return Turn(self, conversation_id, prompt, max_tokens, accepted, held)


class Turn:
    def __init__(self, chat: ChatService, conversation_id: str, prompt: list[dict], max_tokens: int,
                 accepted: float, held: AsyncExitStack):
        self.chat, self.conversation_id, self.prompt, self.max_tokens = chat, conversation_id, prompt, max_tokens
        self.accepted, self.held = accepted, held

    # --8<-- [start:events]
    async def events(self) -> AsyncIterator[TurnEvent]:
        pieces: list[str] = []
        first_at = last_at = None
        usage: dict = {}
        finish_reason = None
        finished = False
        try:
            async for delta in self.chat.llm.stream(self.conversation_id, self.prompt, self.max_tokens):
                if delta.completion_tokens is not None:
                    usage = {"prompt_tokens": delta.prompt_tokens, "completion_tokens": delta.completion_tokens}
                finish_reason = delta.finish_reason or finish_reason
                if not delta.text:
                    continue
                now = time.perf_counter()
                if first_at is None:
                    first_at = now
                    metrics.TTFT_SECONDS.observe(now - self.accepted)
                else:
                    metrics.INTER_TOKEN_SECONDS.observe(now - last_at)
                last_at = now
                pieces.append(delta.text)
                yield TurnEvent("token", {"text": delta.text})
            answer = "".join(pieces)
            await self.chat.store.append(self.conversation_id, "assistant", answer)
            finished = True
            yield TurnEvent("done", self._summary(answer, usage, finish_reason, first_at, last_at))
        except LLMUnavailable as exc:
            finished = True
            yield TurnEvent("error", {"type": "/problems/llm-unavailable", "title": "LLM unavailable",
                                      "status": 503, "detail": f"the LLM server failed mid-answer: {exc}"})
        finally:
            if not finished:  # the client left mid-answer
                metrics.CANCELLED.inc()
                if pieces:  # keep what it saw, marked as cut off
                    await asyncio.shield(self.chat.store.append(
                        self.conversation_id, "assistant", "".join(pieces), interrupted=True))
            await self.held.aclose()
    # --8<-- [end:events]

    def _summary(self, answer: str, usage: dict, finish_reason, first_at, last_at) -> dict:
        completion = usage.get("completion_tokens") or self.chat.counter.count(answer)
        metrics.TOKENS_GENERATED.inc(completion)
        ttft_ms = (first_at - self.accepted) * 1000 if first_at else None
        generating_s = (last_at - first_at) if first_at and last_at and last_at > first_at else None
        return {
            "finish_reason": finish_reason,
            "usage": {"prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": completion,
                      "source": "llm-server" if usage else "tokenizer"},
            "timings": {"ttft_ms": ttft_ms, "total_ms": (time.perf_counter() - self.accepted) * 1000,
                        "tokens_per_s": (completion - 1) / generating_s if generating_s else None},
        }
