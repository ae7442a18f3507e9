"""The middleware every service runs, in one order: request ids outermost (every log line and
error carries one), then the access log, then the body-size limit (a large body is refused before
it is read); Prometheus request metrics and ``/metrics`` on top.

This file is the same in every project (kept from templates/service/)."""

from __future__ import annotations

from collections.abc import Sequence

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator, metrics

from ..logging_config import AccessLogMiddleware
from .body_limit import BodySizeLimitMiddleware


def install_middleware(
    app: FastAPI,
    max_body_bytes: int,
    latency_buckets: Sequence[float] | None = None,
    request_metrics: bool = True,
) -> None:
    """The last ``add_middleware`` runs first: ids, then the log, then the size check.
    ``request_metrics=False`` leaves out the request metrics and /metrics (to measure their cost)."""
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    if not request_metrics:
        return
    instrumentator = Instrumentator(should_group_status_codes=False, excluded_handlers=["/metrics"])
    if latency_buckets:
        instrumentator.add(metrics.latency(should_include_status=True, buckets=tuple(latency_buckets)))
    else:
        instrumentator.add(metrics.latency(should_include_status=True))
    instrumentator.add(metrics.requests())
    instrumentator.instrument(app).expose(app, include_in_schema=False)
