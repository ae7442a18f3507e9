"""This service's errors as problem+json (the shape and the shared types: api/problem_details.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from fraud_ensemble.api.problem_details import backend_unavailable, install_generic_handlers, problem_response
from fraud_ensemble.services.voting import NoQuorum
from fraud_ensemble.triton_client import ModelFailed

log = logging.getLogger(__name__)


def install_problem_handlers(app: FastAPI, retry_after_s: int) -> None:
    install_generic_handlers(app)

    # --8<-- [start:no-quorum]
    @app.exception_handler(NoQuorum)
    async def on_no_quorum(request: Request, exc: NoQuorum) -> JSONResponse:
        log.warning("no quorum: %s", exc)
        detail = f"too few models answered to trust the vote: {exc}; retry later"
        return problem_response(request, backend_unavailable("triton", detail, retry_after_s))

    # --8<-- [end:no-quorum]

    @app.exception_handler(ModelFailed)
    async def on_model_failed(request: Request, exc: ModelFailed) -> JSONResponse:  # ensemble mode: no fallback
        log.warning("Triton ensemble failed: %s", exc)
        detail = "the ensemble on Triton did not answer; retry later"
        return problem_response(request, backend_unavailable("triton", detail, retry_after_s))
