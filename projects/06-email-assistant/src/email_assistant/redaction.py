"""What the decision log must not keep: card numbers, IBANs, and anything a sender calls a password,
token or key. The log holds what each step saw, with these replaced by their kind."""

from __future__ import annotations

import re
from typing import Any

PATTERNS = (  # in this order: an IBAN's digits would pass for a card number
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"), "[iban]"),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[card number]"),
    (
        re.compile(r"(?i)\b(password|passcode|pin|token|api[ _-]?key|secret)\b(\s*(?:is|:|=)\s*)\S+"),
        r"\1\2[secret]",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_all(value: Any) -> Any:
    """Redact every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_all(item) for item in value]
    return value
