"""Every error is RFC 9457 problem+json with a stable ``type``; never a traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import metrics
from rag.embedding_client import EmbeddingUnavailable
from rag.llm_client import LLMUnavailable
from rag.services.ingestion import EmptyDocument
from rag.vector_store import VectorStoreUnavailable

log = logging.getLogger(__name__)


class Problem(Exception):
    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers = status, slug, detail, headers or {}


def problem(status: int, slug: str, detail: str, instance: str, headers: dict | None = None, **extra):
    body = {
        "type": f"/problems/{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    retry = {"Retry-After": str(retry_after_s)}

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return problem(exc.status, exc.slug, exc.detail, request.url.path, exc.headers)

    @app.exception_handler(EmbeddingUnavailable)
    async def on_triton_down(request: Request, exc: EmbeddingUnavailable):
        metrics.BACKEND_ERRORS.labels("triton").inc()
        log.warning("Triton unavailable: %s", exc)
        return problem(
            503,
            "embedding-unavailable",
            "the embedding model (Triton) cannot answer right now; retry later",
            request.url.path,
            retry,
        )

    @app.exception_handler(LLMUnavailable)
    async def on_llm_down(request: Request, exc: LLMUnavailable):  # the agent has no answer without it
        metrics.BACKEND_ERRORS.labels("llm").inc()
        log.warning("LLM server unavailable: %s", exc)
        return problem(
            503, "llm-unavailable", "the LLM server cannot answer right now; retry later", request.url.path, retry
        )

    @app.exception_handler(VectorStoreUnavailable)
    async def on_milvus_down(request: Request, exc: VectorStoreUnavailable):
        metrics.BACKEND_ERRORS.labels("milvus").inc()
        log.warning("Milvus unavailable: %s", exc)
        return problem(
            503,
            "vector-store-unavailable",
            "the vector store (Milvus) cannot answer right now; retry later",
            request.url.path,
            retry,
        )

    @app.exception_handler(EmptyDocument)
    async def on_empty(request: Request, exc: EmptyDocument):
        return problem(422, "empty-document", str(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return problem(422, "validation-error", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        slug = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}.get(
            exc.status_code, "http-error"
        )
        return problem(exc.status_code, slug, str(exc.detail), request.url.path, exc.headers)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception):
        log.exception("unhandled error")
        return problem(
            500, "internal-error", "the service failed on this request; it has been logged", request.url.path
        )
