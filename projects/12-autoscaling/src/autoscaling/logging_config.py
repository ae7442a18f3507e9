"""Structured JSON logs, one object per line, each carrying the request id of the request it serves
(and, in a service that traces, the trace and span ids of the span it was written in)."""

from __future__ import annotations

import json
import logging
import sys
import time

from asgi_correlation_id import CorrelationIdFilter


# --8<-- [start:json]
class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "correlation_id", None),  # set by CorrelationIdFilter
        }
        for key in ("trace_id", "span_id"):  # set by a service that traces (project 08's tracing.py)
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if hasattr(record, "http"):
            entry["http"] = record.http
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationIdFilter(uuid_length=32, default_value="-"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


# --8<-- [end:json]


class AccessLogMiddleware:
    """One JSON line per request: method, path, status and duration (uvicorn's access log is off)."""

    def __init__(self, app):
        self.app = app
        self.log = logging.getLogger(f"{__package__}.access")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def record_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            self.log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
                extra={"http": {"method": scope["method"], "path": scope["path"], "status": status}},
            )
