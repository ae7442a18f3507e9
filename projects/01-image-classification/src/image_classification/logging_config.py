"""Structured JSON logs, one object per line, each carrying the request id of the request it serves."""

from __future__ import annotations

import json
import logging
import sys

from asgi_correlation_id import CorrelationIdFilter


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
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
