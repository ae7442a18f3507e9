"""Fill a model repository with the three PP-OCR models that ship inside the ``rapidocr`` package,
and the recogniser's character list (read from its ONNX metadata) for ``ctc_decode``.

    python build_repository.py REPOSITORY    # compose: the model-build service runs this once

Nothing is downloaded: the files come from the installed wheel."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import onnxruntime
import rapidocr

SHIPPED = Path(rapidocr.__file__).parent / "models"
# model name in the repository -> file in the wheel
MODELS = {
    "text_detection": "PP-OCRv6_det_small.onnx",
    "text_direction": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "text_recognition": "PP-OCRv6_rec_small.onnx",
}


def shipped_models() -> dict[str, Path]:
    return {name: SHIPPED / file for name, file in MODELS.items()}


def characters(recogniser: Path) -> str:
    """The recogniser's characters, one a line, in the order of its output classes."""
    session = onnxruntime.InferenceSession(str(recogniser), providers=["CPUExecutionProvider"])
    return session.get_modelmeta().custom_metadata_map["character"]


def write_characters(repository: Path, recogniser: Path) -> None:
    (repository / "ctc_decode" / "1" / "characters.txt").write_text(characters(recogniser), "utf-8")


def build(repository: Path) -> None:
    for name, source in shipped_models().items():
        shutil.copyfile(source, repository / name / "1" / "model.onnx")
    write_characters(repository, shipped_models()["text_recognition"])


if __name__ == "__main__":
    build(Path(sys.argv[1]))
