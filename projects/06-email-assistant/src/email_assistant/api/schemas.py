"""The API's request and answer bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AcceptedMessage(BaseModel):
    id: int = Field(description="The message's id in this service (use it in /v1/messages/{id}).")
    duplicate: bool = Field(description="The same Message-ID was accepted before; nothing new was queued.")
    held: bool = Field(description="Over the sender's hourly limit: kept, not processed.")
    state: str


class Approval(BaseModel):
    action: str | None
    final_body: str | None
    reason: str | None
    requested_at: datetime
    decided_at: datetime | None


class Message(BaseModel):
    id: int
    message_id: str
    sender: str
    sender_name: str
    subject: str
    body: str
    attachments: list[str]
    flags: list[str]
    category: str | None
    urgency: str | None
    state: str = Field(description="queued, held, working, awaiting_approval, sent, rejected, filed or escalated.")
    attempts: int
    received_at: datetime
    updated_at: datetime
    approval: Approval | None


class Step(BaseModel):
    node: str
    inputs: dict[str, Any] = Field(description="What the step saw, with secrets redacted.")
    output: dict[str, Any] = Field(description="What it decided (the model's structured output, or the result).")
    tool: str | None
    tool_result: dict[str, Any] | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    at: datetime


class Trace(BaseModel):
    message: int
    state: str
    steps: list[Step]


class WaitingApproval(BaseModel):
    message: int
    sender: str
    subject: str
    category: str | None
    urgency: str | None
    draft: str
    requested_at: datetime


class Approvals(BaseModel):
    waiting: list[WaitingApproval]


class Decision(BaseModel):
    """A person's decision on a draft: send it, send an edited text, or reject it with a reason."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "edit", "reject"]
    body: str | None = Field(None, min_length=1, max_length=20_000, description="The text to send (edit only).")
    reason: str | None = Field(None, min_length=1, max_length=2_000, description="Why not (reject only).")

    @model_validator(mode="after")
    def fields_match_action(self) -> Decision:
        if (self.action == "edit") != (self.body is not None):
            raise ValueError("body is given with edit, and only with edit")
        if (self.action == "reject") != (self.reason is not None):
            raise ValueError("reason is given with reject, and only with reject")
        return self


class Decided(BaseModel):
    message: int
    action: str
    state: str = Field(description="The worker sends (or files the rejection) shortly after.")


class HealthStatus(BaseModel):
    status: str
