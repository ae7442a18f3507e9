"""RFC 9457 problem+json: the one shape every error leaves the service in, with a stable ``type``,
never a traceback. The types every project shares (validation-error, not-found, payload-too-large,
backend-unavailable, not-ready, internal-error, ...) are listed in docs/reference/problem-types.md.

This file is the same in every project (kept from templates/service/); the project's own errors
are mapped to problems in api/problems.py."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client can act on, raised anywhere in the service and rendered here. ``slug``
    becomes the type (``/problems/<slug>``); ``extra`` members are added to the body."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.headers, self.extra = headers or {}, extra


# The body's schema, for the OpenAPI document: routes list their error answers with problem_doc().
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "examples": ["/problems/validation-error"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def problem_doc(description: str = "An error, as problem+json (see its type).") -> dict[str, Any]:
    """A ``responses`` entry of a route: this status comes as problem+json, for this reason."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


PROBLEM = problem_doc()


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {
        "type": f"/problems/{problem.slug}",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extra,
    }
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def backend_unavailable(backend: str, detail: str, retry_after_s: int) -> Problem:
    """503 for a request that needs a backend that is down (``backend``: "triton", "llm", "redis",
    "milvus", ...): nothing was done, and the client may retry after ``retry_after_s`` seconds."""
    return Problem(503, "backend-unavailable", detail, {"Retry-After": str(retry_after_s)}, backend=backend)


def not_ready(missing: list[str], retry_after_s: int) -> Problem:
    """503 from the readiness probe: what the service waits for before it takes traffic."""
    return Problem(503, "not-ready", f"{' and '.join(missing)} not ready", {"Retry-After": str(retry_after_s)})


HTTP_ERRORS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


def document_problems(app: FastAPI) -> None:
    """Say in the OpenAPI document what the handlers do: every error answer (FastAPI's automatic
    422 included) is problem+json, and a body that cannot be read at all (not JSON, not UTF-8) is a
    400; a client generated from the document then expects what it gets."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "requestBody" in operation:
                    responses.setdefault("400", problem_doc("The body could not be read (not JSON, not UTF-8)."))
                for status, response in responses.items():
                    if str(status)[0] in "45":
                        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install_generic_handlers(app: FastAPI) -> None:
    """Problems, invalid requests, routing errors and anything unexpected, as problem+json."""
    document_problems(app)

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem_response(request, Problem(422, "validation-error", detail, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = HTTP_ERRORS.get(exc.status_code, "http-error")
        return problem_response(request, Problem(exc.status_code, slug, str(exc.detail), dict(exc.headers or {})))

    app.add_middleware(ContainUnexpectedErrors)

    @app.exception_handler(Exception)  # the last resort, for an error in a middleware
    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem_response(request, internal_error())


def internal_error() -> Problem:
    return Problem(500, "internal-error", "the service failed on this request; it has been logged")


class ContainUnexpectedErrors:
    """An error that no handler expected, answered here as a 500 problem. Starlette's own handler
    for ``Exception`` answers too, but then re-raises to the server, and uvicorn closes the
    connection after the answer: a client that reuses it at that moment (keep-alive) loses its next
    request, a request that had nothing to do with the error. Added first, this runs innermost:
    request ids, the access log and the request metrics all see the 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answering = False

        async def watch(message: Message) -> None:
            nonlocal answering
            answering = answering or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if answering:  # half an answer is out: only closing the connection can tell the client
                raise
            log.exception("unhandled error")
            await problem_response(Request(scope), internal_error())(scope, receive, send)
