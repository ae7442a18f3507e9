"""Routing by cost: which engine translates a segment when the request names none. The policies
are compared on the test set, cost and chrF side by side, by the benchmark (local/bench.py)."""

from __future__ import annotations

from typing import Literal

Policy = Literal["cheapest", "neural", "by_length"]


# --8<-- [start:route]
def route(segment: str, policy: Policy, short_segment_words: int) -> str:
    """cheapest: always the rule-based engine; neural: always the LLM; by_length: the cheap engine
    for short strings (UI labels, buttons), the neural one for prose."""
    if policy == "cheapest":
        return "apertium"
    if policy == "neural":
        return "neural"
    return "apertium" if len(segment.split()) <= short_segment_words else "neural"


# --8<-- [end:route]
