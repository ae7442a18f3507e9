"""The client for the LLM server (OpenAI chat completions; llama.cpp locally, vLLM in compose).
Every call comes back with its token counts, which the decision log and the metrics keep."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam


class LLMUnavailable(RuntimeError):
    """The LLM server cannot be reached, timed out, or failed on its side (5xx)."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None


class LLMClient:
    def __init__(self, base_url: str, model: str, timeout_s: float, structured: str):
        # No retries here: the worker retries a whole step with backoff, and counts the attempts.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key="not-needed", timeout=timeout_s, max_retries=0)
        self.model, self.structured = model, structured

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self) -> bool:
        try:
            await self._client.with_options(timeout=2.0).models.list()
            return True
        except (openai.APIError, httpx.HTTPError):
            return False

    # --8<-- [start:complete]
    async def complete(self, messages: list[dict[str, str]], max_tokens: int, schema: dict | None = None) -> Completion:
        """One answer at temperature 0. With ``schema``, the server is made to follow it (constrained
        decoding); the caller still validates what comes back."""
        formats: dict[str, Any] = {
            "json_schema": {"type": "json_schema", "json_schema": {"name": "step", "schema": schema}},
            "json_object": {"type": "json_object", "schema": schema},  # llama-cpp-python's spelling
        }
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                max_tokens=max_tokens,
                temperature=0,
                extra_body={"response_format": formats[self.structured]} if schema else None,
            )
        except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as exc:
            raise LLMUnavailable(str(exc)) from exc
        usage = response.usage
        return Completion(
            response.choices[0].message.content or "",
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
        )

    # --8<-- [end:complete]
