"""Model bundles: what the gateway accepts as a new model, and how it decides to trust one.

A bundle is a manifest, a signature and a model file. The manifest names the version and the
model file's SHA-256 and size; the signature is Ed25519 over the manifest's canonical JSON, made
with the publisher's private key; the gateway holds only the public key (its configuration pins
it). A bundle is installed only if (1) the signature verifies, (2) the downloaded file has the
size and hash the manifest states, and (3) the model gives the expected answers on the gateway's
own golden images, which no bundle can change. Then, and only then, it replaces the model that
serves; the previous one stays on disk for a rollback."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge_gateway.classifier import Model
from edge_gateway.images import decode, to_model_input


class BundleRefused(ValueError):
    """A bundle that failed a check: the reason says which."""


@dataclass(frozen=True)
class Manifest:
    version: str
    model_sha256: str
    model_bytes: int


def canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


# --8<-- [start:sign]
def sign(manifest: dict[str, Any], private_key: Ed25519PrivateKey) -> dict[str, Any]:
    """What a publisher does (local/publisher.py): the envelope the gateway downloads."""
    return {"manifest": manifest, "signature": base64.b64encode(private_key.sign(canonical(manifest))).decode()}


def verify_envelope(envelope: dict[str, Any], public_key: Ed25519PublicKey) -> Manifest:
    try:
        manifest, signature = envelope["manifest"], base64.b64decode(envelope["signature"], validate=True)
        public_key.verify(signature, canonical(manifest))
        return Manifest(str(manifest["version"]), str(manifest["model_sha256"]), int(manifest["model_bytes"]))
    except InvalidSignature:
        raise BundleRefused("signature does not verify with the pinned key") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleRefused(f"malformed bundle envelope ({exc})") from None


# --8<-- [end:sign]


def public_key_from(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def verify_model_file(path: Path, manifest: Manifest) -> None:
    size = path.stat().st_size
    if size != manifest.model_bytes:
        raise BundleRefused(f"model file has {size} bytes, the manifest says {manifest.model_bytes} (truncated?)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest.model_sha256:
        raise BundleRefused("model file's SHA-256 is not the one the manifest states")


# --8<-- [start:golden]
def golden_check(model: Model, golden_dir: Path, max_pixels: int) -> int:
    """Every golden image must get its expected class: ``expected.json`` maps file -> class index.
    Returns how many were checked."""
    expected: dict[str, int] = json.loads((golden_dir / "expected.json").read_text())
    if not expected:
        raise BundleRefused("no golden images configured: refusing to install blind")
    for name, index in sorted(expected.items()):
        answer = model.classify(to_model_input(decode((golden_dir / name).read_bytes(), max_pixels)))
        if answer.class_index != index:
            raise BundleRefused(
                f"golden image {name}: expected class {index}, got {answer.class_index} ({answer.label})"
            )
    return len(expected)


# --8<-- [end:golden]
