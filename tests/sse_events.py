"""Reading Server-Sent Events the way a browser does: line by line, as they arrive."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx


def read_events(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    """Parse a text/event-stream response into (event, data) pairs as they arrive."""
    event = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            yield event, json.loads(line[len("data: ") :])
