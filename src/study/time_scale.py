"""Run a project's alerting in compressed time: every duration in its rules and routing divided by
one factor. A drill with the production rules then fires in seconds what would take an hour, with
the same thresholds, the same window ratios and the same order of events."""

from __future__ import annotations

import re

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
DURATION = re.compile(r"(\d+)(ms|[smhdwy])")
RANGE = re.compile(r"\[(\d+(?:ms|[smhdwy]))(:[^\]]*)?\]")  # a PromQL range: rate(x[5m])
FOR = re.compile(r"^([ \t]*for:[ \t]*)(\S+)[ \t]*$", re.MULTILINE)


def seconds(duration: str) -> float:
    parts = DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a Prometheus duration: {duration!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def scaled_duration(duration: str, factor: float) -> str:
    """``duration`` divided by ``factor``, in whole milliseconds (at least 1 ms)."""
    return f"{max(1, round(seconds(duration) * 1000 / factor))}ms"


def scaled_rules(text: str, factor: float) -> str:
    """A rules file with every range and every ``for:`` divided by ``factor``."""
    text = RANGE.sub(lambda m: f"[{scaled_duration(m[1], factor)}{m[2] or ''}]", text)
    return FOR.sub(lambda m: f"{m[1]}{scaled_duration(m[2], factor)}", text)
