"""Which devices may send, and proof that a message comes from one: an allow-list of device ids,
each with its own key, and an HMAC-SHA256 over what it sends (the device id, the capture time and
the image's SHA-256). A leaked key is one device's problem: revoke that id, the others go on."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path


class UnknownDevice(PermissionError):
    pass


class BadSignature(PermissionError):
    pass


# --8<-- [start:signature]
def message_digest(device_id: str, captured_at: str, image_sha256: str) -> bytes:
    return f"{device_id}\n{captured_at}\n{image_sha256}".encode()


def signature(key: str, device_id: str, captured_at: str, image_sha256: str) -> str:
    """What a device computes (and the gateway checks): hex HMAC-SHA256."""
    return hmac.new(key.encode(), message_digest(device_id, captured_at, image_sha256), hashlib.sha256).hexdigest()


# --8<-- [end:signature]


class Devices:
    def __init__(self, keys: dict[str, str]):
        self._keys = keys

    @classmethod
    def from_file(cls, path: Path) -> Devices:
        return cls(json.loads(path.read_text()) if path.exists() else {})

    def check(self, device_id: str, captured_at: str, image_sha256: str, given: str) -> None:
        key = self._keys.get(device_id)
        if key is None:
            raise UnknownDevice(f"device {device_id!r} is not on this gateway's allow-list")
        if not hmac.compare_digest(signature(key, device_id, captured_at, image_sha256), given):
            raise BadSignature(f"signature of device {device_id!r} does not match")
