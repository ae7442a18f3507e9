"""Request and response shapes, with the examples the OpenAPI page shows."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MessageIn(BaseModel):
    content: str = Field(
        min_length=1, description="The user's message.", examples=["My order #1234 has not arrived. What can I do?"]
    )
    max_tokens: int | None = Field(None, ge=1, description="Cap on the answer's length, in tokens.")
    stream: bool = Field(True, description="Server-Sent Events (true) or one JSON answer (false).")


class Usage(BaseModel):
    prompt_tokens: int | None
    completion_tokens: int
    source: str = Field(description="'llm-server' when the server reported usage, else 'tokenizer'.")


class Timings(BaseModel):
    ttft_ms: float | None = Field(description="Time to first token, from acceptance (queueing included).")
    total_ms: float
    tokens_per_s: float | None = Field(description="Generation speed after the first token.")


class Reply(BaseModel):
    conversation_id: str
    reply: str
    finish_reason: str | None
    usage: Usage
    timings: Timings


class StoredMessage(BaseModel):
    role: str
    content: str
    created_at: float
    interrupted: bool = Field(False, description="The client left before the answer finished.")


class Conversation(BaseModel):
    conversation_id: str
    messages: list[StoredMessage]


class HealthStatus(BaseModel):
    status: str
