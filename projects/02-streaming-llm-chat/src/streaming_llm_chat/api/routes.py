"""HTTP routes: send a message (streamed or not), read and delete a conversation, health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response
from fastapi.sse import EventSourceResponse, format_sse_event

from streaming_llm_chat.api.deps import ChatDep, ConversationId, SettingsDep, TenantDep
from streaming_llm_chat.api.problem_details import PROBLEM, Problem, not_ready, problem_doc
from streaming_llm_chat.api.schemas import Conversation, HealthStatus, MessageIn, Reply, StoredMessage
from streaming_llm_chat.llm_client import LLMUnavailable
from streaming_llm_chat.services.chat import Turn
from streaming_llm_chat.services.tenants import conversation_key

router = APIRouter()


def sse_events(*names: str) -> dict[str, Any]:
    """One Server-Sent Event, as OpenAPI documents each event of a text/event-stream answer."""
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {"event": {"enum": list(names)}, "data": {"type": "string"}},
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem_doc("No API key, or an unknown one (when tenants are configured)."),
    409: problem_doc("Another message of this conversation is being answered."),
    413: problem_doc("Message or body too large."),
    422: problem_doc("Invalid conversation id, message or max_tokens; conversation full."),
    429: problem_doc(
        "Too many generations in flight, this tenant's share in use, or its token quota spent; see Retry-After."
    ),
    503: problem_doc("LLM server or Redis unavailable; see Retry-After."),
}


async def sse(turn: Turn) -> AsyncIterator[bytes]:
    async for event in turn.events():
        yield format_sse_event(event=event.kind, data_str=json.dumps(event.data))


# --8<-- [start:send]
@router.post(
    "/v1/conversations/{conversation_id}/messages",
    tags=["chat"],
    responses={
        200: {
            "description": "`text/event-stream` of `token` events then one `done` (or `error`) event; "
            "JSON when `stream` is false.",
            "model": Reply,
            "content": {"text/event-stream": {"schema": sse_events("token", "done", "error")}},
        },
        **ERRORS,
    },
)
async def send_message(
    conversation_id: ConversationId, message: MessageIn, chat: ChatDep, settings: SettingsDep, tenant: TenantDep
):
    """Send a message; the answer streams back as Server-Sent Events while it is generated."""
    if len(message.content) > settings.max_message_chars:
        raise Problem(413, "text-too-long", f"{len(message.content)} characters; at most {settings.max_message_chars}")
    max_tokens = message.max_tokens or settings.default_max_tokens
    if max_tokens > settings.max_tokens_limit:
        raise Problem(422, "max-tokens-too-large", f"max_tokens is at most {settings.max_tokens_limit}")
    turn = await chat.open_turn(tenant, conversation_id, message.content, max_tokens)  # may refuse: 409/429/503
    if message.stream:
        return EventSourceResponse(sse(turn), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return await collect(conversation_id, turn)


# --8<-- [end:send]


async def collect(conversation_id: str, turn: Turn) -> Reply:
    text: list[str] = []
    async for event in turn.events():
        if event.kind == "token":
            text.append(event.data["text"])
        elif event.kind == "error":
            raise LLMUnavailable(event.data["detail"])  # the shared handler: 503 + Retry-After
        else:
            return Reply(conversation_id=conversation_id, reply="".join(text), **event.data)
    raise LLMUnavailable("the answer ended without completing")


@router.get(
    "/v1/conversations/{conversation_id}",
    response_model=Conversation,
    tags=["chat"],
    responses={401: ERRORS[401], 404: PROBLEM, 503: ERRORS[503]},
)
async def get_conversation(conversation_id: ConversationId, chat: ChatDep, tenant: TenantDep) -> Conversation:
    """Only the tenant's own conversations: another tenant's id answers 404, as if it did not exist."""
    messages = await chat.store.messages(conversation_key(tenant, conversation_id))
    if not messages:
        raise Problem(404, "not-found", f"no conversation {conversation_id!r} (or it expired)")
    return Conversation(conversation_id=conversation_id, messages=[StoredMessage(**m) for m in messages])


@router.delete(
    "/v1/conversations/{conversation_id}",
    status_code=204,
    tags=["chat"],
    responses={401: ERRORS[401], 404: PROBLEM, 503: ERRORS[503]},
)
async def delete_conversation(conversation_id: ConversationId, chat: ChatDep, tenant: TenantDep) -> Response:
    if not await chat.store.delete(conversation_key(tenant, conversation_id)):
        raise Problem(404, "not-found", f"no conversation {conversation_id!r}")
    return Response(status_code=204)


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: PROBLEM})
async def ready(chat: ChatDep, settings: SettingsDep) -> HealthStatus:
    """Ready when both the LLM server and Redis answer."""
    missing = [
        name for name, ok in (("LLM server", await chat.llm.is_ready()), ("Redis", await chat.store.ping())) if not ok
    ]
    if missing:
        raise not_ready(missing, settings.retry_after_s)
    return HealthStatus(status="ready")
