"""HTTP routes: mail in by upload, what the assistant did with it, the approval queue, health."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from email_assistant import metrics
from email_assistant.api.problem_details import Problem, not_ready, problem_doc
from email_assistant.api.schemas import (
    AcceptedMessage,
    Approvals,
    Decided,
    Decision,
    HealthStatus,
    Message,
    Trace,
)
from email_assistant.intake import QUEUE, Intake
from email_assistant.settings import Settings
from email_assistant.store import Store

log = logging.getLogger(__name__)
router = APIRouter()
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: problem_doc("PostgreSQL or Redis is down: nothing was done; see Retry-After.")
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_doc("No message with this id.")}
MessageIdPath = Annotated[int, Path(ge=1, le=2**62, description="The id POST /v1/messages returned.")]


async def get_store(request: Request) -> Store:
    return request.app.state.store


async def get_intake(request: Request) -> Intake:
    return request.app.state.intake


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


StoreDep = Annotated[Store, Depends(get_store)]
IntakeDep = Annotated[Intake, Depends(get_intake)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

RAW_MAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One message as RFC 5322 text (what an .eml file holds).",
        "content": {"message/rfc822": {"schema": {"type": "string"}}},
    }
}


# --8<-- [start:upload]
@router.post(
    "/v1/messages",
    status_code=202,
    response_model=AcceptedMessage,
    tags=["mail"],
    openapi_extra=RAW_MAIL_BODY,
    responses={
        413: problem_doc("The message is larger than EMAIL_ASSISTANT_MAX_MESSAGE_BYTES."),
        422: problem_doc("Not a message this service can read (no sender, no Message-ID, not MIME)."),
        **UNAVAILABLE,
    },
)
async def upload_message(request: Request, intake: IntakeDep) -> AcceptedMessage:
    """Accept one raw message, as the SMTP listener does: stored, then queued for a worker. The
    same Message-ID twice is accepted once (``duplicate``: true)."""
    accepted = await intake.accept(await request.body(), "api")
    return AcceptedMessage(id=accepted.message, duplicate=accepted.duplicate, held=accepted.held, state=accepted.state)


# --8<-- [end:upload]


@router.get("/v1/messages/{message}", response_model=Message, tags=["mail"], responses={**NOT_FOUND, **UNAVAILABLE})
async def get_message(message: MessageIdPath, store: StoreDep) -> Message:
    row = await store.message(message)
    if row is None:
        raise Problem(404, "not-found", f"no message {message}")
    return Message(**row, approval=await store.approval(message))


# --8<-- [start:trace]
@router.get("/v1/messages/{message}/trace", response_model=Trace, tags=["mail"], responses={**NOT_FOUND, **UNAVAILABLE})
async def get_trace(message: MessageIdPath, store: StoreDep) -> Trace:
    """Every step the assistant took on the message, in order: the decision log."""
    row = await store.message(message)
    if row is None:
        raise Problem(404, "not-found", f"no message {message}")
    return Trace(message=message, state=row["state"], steps=await store.trace(message))


# --8<-- [end:trace]


@router.get("/v1/approvals", response_model=Approvals, tags=["approvals"], responses=UNAVAILABLE)
async def list_approvals(store: StoreDep, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Approvals:
    """Drafts waiting for a person, oldest first."""
    return Approvals(waiting=await store.waiting_approvals(limit))


# --8<-- [start:decide]
@router.post(
    "/v1/approvals/{message}",
    status_code=202,
    response_model=Decided,
    tags=["approvals"],
    responses={
        **NOT_FOUND,
        409: problem_doc("The draft was decided already (a second approval sends nothing)."),
        422: problem_doc("An unknown action, or body/reason given with the wrong action."),
        **UNAVAILABLE,
    },
)
async def decide(message: MessageIdPath, decision: Decision, store: StoreDep, request: Request) -> Decided:
    """Approve the draft, send an edited text, or reject it with a reason (kept in the sender's
    memory). Recorded once; the worker does the rest."""
    result = await store.decide(message, decision.action, decision.body, decision.reason)
    if result == "missing":
        raise Problem(404, "not-found", f"no draft waits for message {message}")
    if result == "already":
        raise Problem(409, "already-decided", f"the draft for message {message} was decided already")
    approval = await store.approval(message)
    if approval and approval["decided_at"]:
        metrics.APPROVAL_WAIT.observe((approval["decided_at"] - approval["requested_at"]).total_seconds())
    redis: Redis = request.app.state.redis
    try:
        await redis.lpush(QUEUE, message)
    except redis_errors.ConnectionError:  # recorded all the same: a worker's sweep finds it in the database
        log.warning("Redis unreachable: message %s waits for the worker's sweep", message)
    return Decided(message=message, action=decision.action, state="awaiting_approval")


# --8<-- [end:decide]


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: problem_doc()})
async def ready(request: Request, store: StoreDep, settings: SettingsDep) -> HealthStatus:
    """Ready when it can accept mail: PostgreSQL and Redis answer."""
    missing = []
    try:
        await store.fetch("SELECT 1")
    except Exception:
        missing.append("PostgreSQL")
    try:
        await request.app.state.redis.ping()
    except Exception:
        missing.append("Redis")
    if missing:
        raise not_ready(missing, settings.retry_after_s)
    return HealthStatus(status="ready")
