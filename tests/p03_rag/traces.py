"""Reading the spans the local service exported to its JSON-lines trace file."""

from __future__ import annotations

import json
import secrets
import time


def traceparent() -> tuple[str, str, str]:
    """A W3C trace context header as a client that traces would send: version-trace-parent-flags."""
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{parent_id}-01", trace_id, parent_id


def spans_of(rag, trace_id: str, until: set[str], timeout_s: float = 20) -> dict[str, dict]:
    """The trace's spans by name, once every name in `until` has been exported (batches every 0.5 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        spans = {}
        if rag.traces_file.exists():
            for line in rag.traces_file.read_text().splitlines():
                span = json.loads(line)
                if span["context"]["trace_id"] == f"0x{trace_id}":
                    spans[span["name"]] = span
        if until <= set(spans) or time.monotonic() > deadline:
            return spans
        time.sleep(0.25)
