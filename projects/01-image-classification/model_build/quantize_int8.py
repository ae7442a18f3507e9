"""Build model_int8.onnx: EfficientNet-Lite0 with int8 weights and activations (static, QDQ).

EfficientNet-Lite was designed to quantize well (ReLU6, no squeeze-and-excitation). Static
quantization measures the range of every activation on calibration images that went through the
service's own preprocessing, then stores weights per output channel in int8. The file is about a
quarter of the float32 one.

    python quantize_int8.py MODEL.onnx CALIBRATION.npy OUTPUT.onnx

CALIBRATION.npy is a float32 [N, 3, 224, 224] batch. The images must not be the ones the candidate
is later checked on, or the check flatters it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

INPUT_NAME = "input"


class Calibration(CalibrationDataReader):
    """Feeds the calibration images one at a time, as the service would."""

    def __init__(self, batch: np.ndarray):
        self._feeds = iter([{INPUT_NAME: image[None]} for image in batch.astype(np.float32)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


# --8<-- [start:quantize]
def quantize(model: Path, calibration: np.ndarray, output: Path) -> None:
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared))  # fold constants, infer shapes
        staged = Path(tmp) / output.name
        quantize_static(
            str(prepared),
            str(staged),
            Calibration(calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        staged.replace(output)  # never a half-written model in the repository


# --8<-- [end:quantize]


def main(model: Path, calibration: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    quantize(model, np.load(calibration), output)
    print(f"wrote {output}: {output.stat().st_size / 2**20:.1f} MiB (float32: {model.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
