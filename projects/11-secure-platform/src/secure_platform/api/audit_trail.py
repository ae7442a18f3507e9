"""The audit trail of every /v1 request that the route itself did not record (a prediction writes
its record in the same transaction as the prediction): denials of every kind, reads, sign-outs.
If the record cannot be written, the answer becomes a 503: nothing goes unaudited."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request, Response

from secure_platform.api.problem_details import backend_unavailable, problem_response
from secure_platform.audit import AuditRecord
from secure_platform.database import DatabaseUnavailable

log = logging.getLogger(__name__)


def record_of(request: Request, response: Response) -> AuditRecord:
    principal = getattr(request.state, "principal", None)
    return AuditRecord(
        action=getattr(request.state, "action", f"{request.method} {request.scope.get('route_path', '')}".strip()),
        decision="allow" if response.status_code < 400 else "deny",
        status=response.status_code,
        request_id=correlation_id.get() or "",
        tenant=principal.tenant if principal else None,
        subject=principal.subject if principal else None,
        client_id=principal.client_id if principal else None,
        resource=getattr(request.state, "resource", request.url.path),
        model=getattr(request.state, "model", None),
        reason=getattr(request.state, "reason", ""),
    )


def install_audit_trail(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit_trail(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith("/v1/") or getattr(request.state, "audited", False):
            return response
        route = request.scope.get("route")
        request.scope["route_path"] = getattr(route, "path", request.url.path)
        try:
            await request.app.state.database.audit(record_of(request, response))
        except DatabaseUnavailable as exc:
            log.warning("audit record not written, answering 503: %s", exc)
            detail = "the audit log cannot be written, so nothing is answered; retry later"
            return problem_response(
                request, backend_unavailable("postgresql", detail, request.app.state.settings.retry_after_s)
            )
        return response
