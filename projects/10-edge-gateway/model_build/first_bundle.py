"""Compose's model-build job: the model files, the gateway's golden images, and the first signed
bundle, for a box that starts with no network.

    python first_bundle.py /bundles /config /keys

/keys/publisher.pem is the publisher's Ed25519 private key (made here if absent; in production it
lives in the release pipeline's secret store, never on the box). /config gets golden/ and
update_public_key (what the gateway pins); /bundles/v1 the signed int8 model. Skipped when built."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import skimage.data
from build_model import main as build_models
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

# The same lists as local/stack.py (a test checks they agree).
CALIBRATION_IMAGES = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "grass", "gravel")
CALIBRATION_IMAGES += ("brick", "colorwheel", "logo", "cell", "text", "moon", "page", "camera")
GOLDEN = {"chelsea.png": ("chelsea", 285), "coffee.png": ("coffee", 967)}


def to_model_input(image: Image.Image) -> np.ndarray:
    """As the gateway's images.to_model_input: 224 x 224, channels first, (x - 127) / 128."""
    pixels = np.asarray(image.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float32)
    return ((pixels - 127.0) / 128.0).transpose(2, 0, 1)


def key(folder: Path) -> Ed25519PrivateKey:
    path = folder / "publisher.pem"
    if not path.exists():
        new = Ed25519PrivateKey.generate()
        pem = new.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(loaded, Ed25519PrivateKey)
    return loaded


def main(bundles: Path, config: Path, keys: Path) -> None:
    if (bundles / "v1" / "bundle.json").exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "calibration.npy"
        np.save(
            calibration,
            np.stack([to_model_input(Image.fromarray(getattr(skimage.data, n)())) for n in CALIBRATION_IMAGES]),
        )
        build_models(calibration, Path(tmp) / "models")
        golden = config / "golden"
        golden.mkdir(parents=True, exist_ok=True)
        for name, (source, _) in GOLDEN.items():
            Image.fromarray(getattr(skimage.data, source)()).save(golden / name)
        (golden / "expected.json").write_text(json.dumps({name: index for name, (_, index) in GOLDEN.items()}))
        publisher = key(keys)
        raw = publisher.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        (config / "update_public_key").write_text(base64.b64encode(raw).decode())
        model = (Path(tmp) / "models" / "model_int8.onnx").read_bytes()
        manifest = {
            "version": "v1",
            "model_sha256": hashlib.sha256(model).hexdigest(),
            "model_bytes": len(model),
            "model_path": "v1/model.onnx",
            "created_at": datetime.now(UTC).isoformat(),
        }
        signature = publisher.sign(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())
        (bundles / "v1").mkdir(parents=True, exist_ok=True)
        (bundles / "v1" / "model.onnx").write_bytes(model)
        envelope = {"manifest": manifest, "signature": base64.b64encode(signature).decode()}
        (bundles / "v1" / "bundle.json").write_text(json.dumps(envelope))  # last: its presence means "built"


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
