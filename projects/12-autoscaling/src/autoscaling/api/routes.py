"""HTTP routes: OpenAI-compatible chat completions (streamed or whole), health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from autoscaling import metrics
from autoscaling.api.problem_details import Problem, not_ready, problem_doc
from autoscaling.api.schemas import ChatRequest, HealthStatus

router = APIRouter()


# --8<-- [start:chat]
@router.post(
    "/v1/chat/completions",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The answer, or its stream (stream: true)."},
        413: problem_doc("The messages are longer than allowed."),
        422: problem_doc("An invalid body, too many messages or max_tokens above the limit."),
        429: problem_doc("The queue is full: retry after Retry-After seconds."),
        503: problem_doc("No replica can answer (Ray Serve down, or the deployment failing)."),
    },
)
async def chat(body: ChatRequest, request: Request) -> Response:
    """Answered by a replica of the LLM deployment; with none running, the request waits while Ray
    Serve starts one (a cold start), and is refused only when the queue is full."""
    settings, llm = request.app.state.settings, request.app.state.llm
    if len(body.messages) > settings.max_messages:
        raise Problem(422, "validation-error", f"at most {settings.max_messages} messages")
    if sum(len(m.content) for m in body.messages) > settings.max_chars:
        raise Problem(413, "text-too-long", f"the messages hold more than {settings.max_chars} characters")
    if body.max_tokens > settings.max_tokens_limit:
        raise Problem(422, "max-tokens-too-large", f"max_tokens is at most {settings.max_tokens_limit}")
    upstream: dict[str, Any] = body.model_dump(exclude={"model"}, exclude_none=True)
    metrics.IN_FLIGHT.inc()
    try:
        response, waited = await llm.open(upstream)
    except BaseException:
        metrics.IN_FLIGHT.dec()
        raise
    headers = {"X-Queue-Wait": f"{waited:.3f}"}
    if body.stream:

        async def stream():
            try:
                async for chunk in llm.relay(response):
                    yield chunk
            finally:
                metrics.IN_FLIGHT.dec()

        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
    try:
        content = b"".join([chunk async for chunk in llm.relay(response)])
    finally:
        metrics.IN_FLIGHT.dec()
    return Response(content, status_code=response.status_code, media_type="application/json", headers=headers)


# --8<-- [end:chat]


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", response_model=HealthStatus, responses={503: problem_doc("Ray Serve is not answering.")})
async def ready(request: Request) -> HealthStatus:
    """Ready when Ray Serve's proxy answers; zero replicas is still ready (a request starts one).
    As the activator in front of a backend scaled to zero (hold_s > 0), always ready: it holds."""
    if request.app.state.settings.hold_s == 0 and not await request.app.state.llm.ready():
        raise not_ready(["ray-serve"], request.app.state.settings.retry_after_s)
    return HealthStatus(status="ok", serve=True)
