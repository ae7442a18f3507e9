"""The model publisher's side of updates: a signing key (made once per machine, kept in the cache,
never in the repository) and bundles written where the local cloud serves them.

In production the private key lives in the release pipeline's secret store and only the public key
ships with the gateways (EDGE_GATEWAY_UPDATE_PUBLIC_KEY)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_gateway.bundles import sign
from study.paths import cache_dir


def signing_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or cache_dir() / "keys" / "edge-gateway-publisher.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def public_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


# --8<-- [start:publish]
def publish(bundles: Path, version: str, model: Path, key: Ed25519PrivateKey, make_latest: bool = True) -> Path:
    """Write ``bundles/<version>/{model.onnx, bundle.json}`` and point ``latest`` at it."""
    folder = bundles / version
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model, folder / "model.onnx")
    data = (folder / "model.onnx").read_bytes()
    manifest = {
        "version": version,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "model_bytes": len(data),
        "model_path": f"{version}/model.onnx",
        "created_at": datetime.now(UTC).isoformat(),
    }
    (folder / "bundle.json").write_text(json.dumps(sign(manifest, key)))
    if make_latest:
        (bundles / "latest").write_text(version)
    return folder


# --8<-- [end:publish]
