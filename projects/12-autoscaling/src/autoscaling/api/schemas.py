"""The OpenAI-compatible request body (the part this service accepts) and the health answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"]
    content: str = Field(min_length=1)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients send fields this service does not use

    model: str | None = Field(None, description="Ignored: the deployment serves one model.")
    messages: list[Message] = Field(min_length=1)
    max_tokens: int = Field(128, ge=1)
    temperature: float = Field(0.7, ge=0, le=2)
    stream: bool = False


class HealthStatus(BaseModel):
    status: str
    serve: bool
