"""Which replica of the LLM server answers a turn.

With one replica there is nothing to choose. With several, ``affinity`` keeps each conversation on
one replica, whose prefix cache holds the conversation's history; ``round-robin`` spreads turns
evenly and lets every replica compute every history again. Either way a replica that cannot be
reached is skipped before the first token, so losing one replica costs no request."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Literal

from streaming_llm_chat import metrics
from streaming_llm_chat.llm_client import Delta, LLMClient, LLMUnavailable

Policy = Literal["affinity", "round-robin"]


class LLMRouter:
    def __init__(self, replicas: list[LLMClient], policy: Policy = "affinity"):
        if not replicas:
            raise ValueError("at least one LLM replica")
        self.replicas, self.policy = replicas, policy
        self._turns = itertools.count()

    # --8<-- [start:order]
    def order(self, conversation_id: str) -> list[LLMClient]:
        """The replicas to try for this turn, best first."""
        if self.policy == "round-robin":
            start = next(self._turns) % len(self.replicas)
            return self.replicas[start:] + self.replicas[:start]

        # Rendezvous hashing: the conversation ranks every replica by a hash of the pair. The top
        # replica is the same on every turn and in every instance of the service, without shared
        # state, and a replica that leaves takes only its own conversations elsewhere.
        def rank(replica: LLMClient) -> bytes:
            return hashlib.sha256(f"{conversation_id}\n{replica.base_url}".encode()).digest()

        return sorted(self.replicas, key=rank, reverse=True)

    # --8<-- [end:order]

    # --8<-- [start:stream]
    async def stream(
        self, conversation_id: str, messages: list[dict], max_tokens: int, cache_salt: str | None = None
    ) -> AsyncIterator[Delta]:
        """The answer from the first replica in order that delivers one. A replica that fails before
        its first piece is skipped: the client has seen nothing yet. After that, a failure is the
        client's to see; replaying half an answer from another replica would repeat it."""
        failure: LLMUnavailable | None = None
        for replica in self.order(conversation_id):
            delivered = False
            try:
                async with aclosing(replica.stream(messages, max_tokens, cache_salt)) as pieces:
                    async for delta in pieces:
                        if not delivered:
                            delivered = True
                            metrics.LLM_REQUESTS.labels(replica=replica.base_url).inc()
                        yield delta
                return
            except LLMUnavailable as exc:
                if delivered:
                    raise
                metrics.LLM_FAILOVERS.labels(replica=replica.base_url).inc()
                failure = exc
        raise LLMUnavailable(f"no LLM replica answered; the last said: {failure}")

    # --8<-- [end:stream]

    async def is_ready(self) -> bool:
        """Ready while any replica is: the others are skipped until they come back."""
        return any(await asyncio.gather(*(replica.is_ready() for replica in self.replicas)))

    async def close(self) -> None:
        await asyncio.gather(*(replica.close() for replica in self.replicas))
