"""Is the service right? It reads what PP-OCR run directly (the rapidocr package, in this process,
with its own ONNX Runtime session) reads, and its accuracy on the held-out set clears a floor.
The full comparison with Tesseract, per condition, is the benchmark's (study bench ocr)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from study.local.ocr.bench import AS_RAPIDOCR
from study.local.ocr.evaluation import Score, photo_samples, rendered_samples, tesseract_lines
from study.local.ocr.stack import start_service

from system_tools import system_tool

from .conftest import ocr

COMPARED_WITH_RAPIDOCR = 24  # rendered pages read both ways (rapidocr in-process is ~1.3 s a page here)


@pytest.fixture(scope="module")
def readings(base_url) -> dict[str, list[str]]:
    """The service's lines for every page of the set (the handwriting photo aside)."""
    samples = rendered_samples() + photo_samples()[:1]

    def read(sample) -> tuple[str, list[str]]:
        answer = ocr(client, sample.image)
        assert answer.status_code == 200, answer.text
        return sample.name, [line["text"] for line in answer.json()["lines"]]

    with httpx.Client(base_url=base_url, timeout=120) as client, ThreadPoolExecutor(2) as pool:
        return dict(pool.map(read, samples))


def test_printed_text_accuracy_clears_the_floor(readings):
    score = Score()
    for sample in rendered_samples():
        score.add(sample.truth, readings[sample.name])
    # Measured on this set: see docs/projects/08-ocr (CER about 0.03). The floor catches a broken
    # pipeline (wrong colour order, lost lines, a bad decode, upside-down pages read backwards or
    # left upside down: CER 0.06 to 0.15), not a 1 % change.
    assert score.cer < 0.05 and score.word_accuracy > 0.9, (score.cer, score.word_accuracy)


@pytest.fixture(scope="module")
def as_rapidocr(stack, tmp_path_factory) -> Iterator[str]:
    """A second API on the session's Triton, set as rapidocr is by default: pages enlarged without
    limit before detection, each line's direction decided alone (the service's defaults cap the
    enlargement at 4x and let a page's lines vote on its direction)."""
    service = start_service(stack.triton, None, tmp_path_factory.mktemp("as-rapidocr"), settings=AS_RAPIDOCR)
    yield service.url
    service.stop()


def test_the_service_reads_what_pp_ocr_run_directly_reads(as_rapidocr):
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    samples = rendered_samples()[:COMPARED_WITH_RAPIDOCR] + photo_samples()[:1]
    different = {}
    with httpx.Client(base_url=as_rapidocr, timeout=120) as client:
        for sample in samples:
            direct = list(engine(sample.image).txts or [])
            served = [line["text"] for line in ocr(client, sample.image).json()["lines"]]
            # rapidocr orders boxes by their top-left corner, the service by rows, and an upside-down
            # page from its own top (geometry.reading_order): the same lines, maybe in another order
            if sorted(direct) != sorted(served):
                different[sample.name] = (direct, served)
            if sample.name == "photo-page":
                assert direct == served  # one upright column: the same order too
    assert not different


def test_tesseract_the_baseline_runs_here(page_photo):
    system_tool("tesseract", debian="tesseract-ocr tesseract-ocr-eng")
    lines = tesseract_lines(page_photo.image)
    assert any("determine markers of the coins" in line for line in lines), lines
