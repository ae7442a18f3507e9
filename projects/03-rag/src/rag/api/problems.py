"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rag import metrics
from rag.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from rag.embedding_client import EmbeddingUnavailable
from rag.llm_client import LLMUnavailable
from rag.services.ingestion import EmptyDocument
from rag.vector_store import VectorStoreUnavailable

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    def unavailable(request: Request, backend: str, what: str, exc: Exception) -> JSONResponse:
        metrics.BACKEND_ERRORS.labels(backend).inc()
        log.warning("%s unavailable: %s", backend, exc)
        detail = f"{what} cannot answer right now; retry later"
        return problem_response(request, backend_unavailable(backend, detail, retry_after_s))

    @app.exception_handler(EmbeddingUnavailable)
    async def on_triton_down(request: Request, exc: EmbeddingUnavailable) -> JSONResponse:
        return unavailable(request, "triton", "the embedding model (Triton)", exc)

    @app.exception_handler(LLMUnavailable)
    async def on_llm_down(request: Request, exc: LLMUnavailable) -> JSONResponse:  # the agent has no answer without it
        return unavailable(request, "llm", "the LLM server", exc)

    @app.exception_handler(VectorStoreUnavailable)
    async def on_milvus_down(request: Request, exc: VectorStoreUnavailable) -> JSONResponse:
        return unavailable(request, "milvus", "the vector store (Milvus)", exc)

    @app.exception_handler(EmptyDocument)
    async def on_empty(request: Request, exc: EmptyDocument) -> JSONResponse:
        return problem_response(request, Problem(422, "empty-document", str(exc)))
