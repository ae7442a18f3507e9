"""Signed webhooks: the receiver can check that a notification comes from this service and is fresh."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Moderation-Signature"


# --8<-- [start:sign]
def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the timestamp is signed too, so a
    captured notification cannot be replayed later with a new time."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, max_age_s: int = 300, now: float | None = None) -> bool:
    """What a receiver runs: recompute, compare in constant time, refuse old timestamps."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)
# --8<-- [end:sign]


def backoff_s(first_s: float, attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: first_s, 2 x first_s, 4 x first_s, ..."""
    return first_s * 2 ** (attempt - 1)
