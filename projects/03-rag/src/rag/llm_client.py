"""The one client for the LLM server: the OpenAI chat-completions API, streamed.

The same client as project 02: it works unchanged against llama.cpp and vLLM."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam


class LLMUnavailable(RuntimeError):
    """The LLM server cannot be reached or failed on its side (5xx)."""


@dataclass
class Delta:
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMClient:
    def __init__(self, base_url: str, model: str, timeout_s: float):
        # Retries would re-run generations the client may already be reading: fail fast instead.
        self._client = openai.AsyncOpenAI(base_url=base_url, api_key="not-needed", timeout=timeout_s, max_retries=0)
        self.model = model

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self) -> bool:
        try:
            await self._client.with_options(timeout=2.0).models.list()
            return True
        except (openai.APIError, httpx.HTTPError):
            return False

    # --8<-- [start:complete-json]
    async def complete_json(self, messages: list[dict], schema: dict, max_tokens: int, structured: str) -> str:
        """One whole answer whose shape the server is made to follow (constrained decoding), or only
        asked for in the prompt when ``structured`` is "none". The text comes back unparsed: the
        caller validates it, whatever the server promised."""
        formats = {
            "json_schema": {"type": "json_schema", "json_schema": {"name": "step", "schema": schema}},
            "json_object": {"type": "json_object", "schema": schema},
        }  # llama-cpp-python's spelling
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                max_tokens=max_tokens,
                temperature=0,
                # llama-cpp-python spells "json_object" its own way: sent as it is, past the typed parameter
                extra_body={"response_format": formats[structured]} if structured in formats else None,
            )
        except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as exc:
            raise LLMUnavailable(str(exc)) from exc
        return response.choices[0].message.content or ""

    # --8<-- [end:complete-json]

    async def stream(self, messages: list[dict], max_tokens: int) -> AsyncGenerator[Delta, None]:
        """Yield the answer piece by piece. Leaving the loop early (client gone) closes the
        HTTP response, and the LLM server stops generating for it."""
        try:
            stream = await self._client.chat.completions.create(
                model=self.model,
                messages=cast(list[ChatCompletionMessageParam], messages),
                max_tokens=max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
        except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as exc:
            raise LLMUnavailable(str(exc)) from exc
        try:
            async for chunk in stream:
                delta = Delta()
                if chunk.usage is not None:
                    delta.prompt_tokens = chunk.usage.prompt_tokens
                    delta.completion_tokens = chunk.usage.completion_tokens
                if chunk.choices:
                    delta.text = chunk.choices[0].delta.content or ""
                    delta.finish_reason = chunk.choices[0].finish_reason
                yield delta
        except (openai.APIConnectionError, httpx.HTTPError) as exc:
            raise LLMUnavailable(str(exc)) from exc
        finally:
            await stream.close()
