"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from translation.api.problem_details import Problem, backend_unavailable, install_generic_handlers, problem_response
from translation.documents import UnsupportedDocument
from translation.engines import PAIRS, EngineUnavailable
from translation.storage import StorageUnavailable

log = logging.getLogger(__name__)


class UnsupportedPair(ValueError):
    def __init__(self, pair: str):
        super().__init__(pair)
        self.pair = pair


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    @app.exception_handler(UnsupportedPair)
    async def on_pair(request: Request, exc: UnsupportedPair) -> JSONResponse:
        detail = f"no engine translates {exc.pair}; supported: {', '.join(PAIRS)}"
        return problem_response(request, Problem(422, "unsupported-language-pair", detail, supported=list(PAIRS)))

    @app.exception_handler(UnsupportedDocument)
    async def on_document(request: Request, exc: UnsupportedDocument) -> JSONResponse:
        return problem_response(request, Problem(422, "unreadable-document", str(exc)))

    @app.exception_handler(StorageUnavailable)
    async def on_s3_down(request: Request, exc: StorageUnavailable) -> JSONResponse:
        log.warning("S3 unavailable: %s", exc)
        detail = "document storage (S3) is unavailable; nothing was stored, retry later"
        return problem_response(request, backend_unavailable("s3", detail, retry_after_s))

    @app.exception_handler(EngineUnavailable)
    async def on_engine_down(request: Request, exc: EngineUnavailable) -> JSONResponse:
        log.warning("engine unavailable: %s", exc)
        detail = f"the translation engine is unavailable ({exc}); nothing was translated"
        return problem_response(request, backend_unavailable(exc.engine, detail, retry_after_s))
