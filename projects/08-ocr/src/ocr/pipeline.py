"""One page through the OCR pipeline: decode -> detect -> crop -> classify -> recognize -> order.

The three models run on Triton; everything between them runs here (geometry.py), off the event
loop. Each stage is a span of the request's trace, a sample of ``ocr_stage_duration_seconds`` and a
field of the answer's timings, so the three views of one slow request agree."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from opentelemetry import trace
from starlette.concurrency import run_in_threadpool

from ocr import geometry, metrics
from ocr.images import decode_upload
from ocr.settings import Settings
from ocr.triton_client import TritonModels

log = logging.getLogger(__name__)
LINES_PER_CALL = 6  # lines sent to the recogniser per request; a page's requests go out at once


@dataclass
class Line:
    text: str
    confidence: float
    box: list[list[float]]  # four corners, clockwise from top-left, in the upload's pixels
    upside_down: bool


@dataclass
class Reading:
    width: int
    height: int
    lines: list[Line]
    model_versions: dict[str, str]
    timings_ms: dict[str, float] = field(default_factory=dict)


class OcrPipeline:
    def __init__(self, models: TritonModels, settings: Settings, tracer: trace.Tracer):
        self.models = models
        self.settings = settings
        self.tracer = tracer

    @contextmanager
    def _stage(self, name: str, timings: dict[str, float], **attributes) -> Iterator[trace.Span]:
        started = time.perf_counter()
        with self.tracer.start_as_current_span(name, attributes=attributes) as span:
            yield span
        elapsed = time.perf_counter() - started
        metrics.STAGE_SECONDS.labels(name).observe(elapsed)
        timings[name] = round(elapsed * 1000, 2)

    # --8<-- [start:read]
    async def read(self, data: bytes, page_number: int = 1) -> Reading:
        s = self.settings
        timings: dict[str, float] = {}
        versions: dict[str, str] = {}
        with self._stage("decode", timings, bytes=len(data)):
            rgb = await run_in_threadpool(decode_upload, data, page_number, s.pdf_dpi, s.max_image_pixels)
            page = await run_in_threadpool(geometry.prepare_page, rgb, s)

        with self._stage("detect", timings, model=self.models.detection) as span:
            detected = await self.models.detect(page.detector_input)
            versions["detection"] = detected.model_version
            boxes, _ = await run_in_threadpool(geometry.boxes_from_map, detected.outputs["fetch_name_0"], page, s)
            span.set_attribute("boxes", len(boxes))

        with self._stage("crop", timings):
            crops = await run_in_threadpool(geometry.crop_lines, page, boxes)

        upside_down, page_upside_down = [False] * len(crops), False
        with self._stage("classify", timings, model=self.models.direction, lines=len(crops)):
            if crops:
                answer = await self.models.classify_direction(geometry.direction_batch(crops))
                versions["direction"] = answer.model_version
                p_flipped = next(iter(answer.outputs.values()))[:, 1]
                upside_down, page_upside_down = self._directions(p_flipped)
                crops = [np.rot90(crop, 2) if flip else crop for crop, flip in zip(crops, upside_down, strict=True)]

        with self._stage("recognize", timings, model=self.models.recognition, lines=len(crops)):
            texts, confidences = await self._recognize(crops, versions)

        with self._stage("order", timings):
            lines = self._lines(geometry.to_original(boxes, page), texts, confidences, upside_down, page_upside_down)
        # --8<-- [end:read]

        metrics.PAGES.labels("text" if lines else "empty").inc()
        for line in lines:
            metrics.LINE_CONFIDENCE.observe(line.confidence)
        height, width = rgb.shape[:2]
        log.info("read %dx%d page: %d lines", width, height, len(lines))
        return Reading(width, height, lines, versions, timings)

    async def _recognize(self, crops: list[np.ndarray], versions: dict[str, str]) -> tuple[list[str], list[float]]:
        """Lines sorted by width and sent in groups (less padding per group), all groups at once;
        Triton's dynamic batcher merges groups of equal width."""
        texts, confidences = [""] * len(crops), [0.0] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        groups = [order[i : i + LINES_PER_CALL] for i in range(0, len(order), LINES_PER_CALL)]
        answers = await asyncio.gather(
            *(self.models.recognize(geometry.recognition_batch([crops[i] for i in group])) for group in groups)
        )
        for group, answer in zip(groups, answers, strict=True):
            versions["recognition"] = answer.model_version
            for i, text, confidence in zip(
                group, answer.outputs["text"][:, 0], answer.outputs["confidence"][:, 0], strict=True
            ):
                texts[i], confidences[i] = text.decode("utf-8"), float(confidence)
        return texts, confidences

    # --8<-- [start:directions]
    def _directions(self, p_flipped: np.ndarray) -> tuple[list[bool], bool]:
        """Which lines to turn, and whether the page is upside down. The lines of one page share
        its direction, so they vote: a page of two lines or more that are on average more likely
        upside down is turned whole, though the classifier was unsure of some of them. Otherwise a
        line is turned only when the classifier is sure (a label stuck on upside down)."""
        voters = len(p_flipped) >= 2  # one line is no majority: it must be sure, as on an upright page
        page_upside_down = self.settings.page_direction_vote and voters and float(p_flipped.mean()) > 0.5
        if page_upside_down:
            return [True] * len(p_flipped), True
        return [bool(p > self.settings.flip_threshold) for p in p_flipped], False

    # --8<-- [end:directions]

    def _lines(
        self,
        boxes: np.ndarray,
        texts: list[str],
        confidences: list[float],
        flipped: list[bool],
        page_upside_down: bool,
    ) -> list[Line]:
        """Lines in reading order (an upside-down page from its own top), without empty ones and
        those read with too little confidence."""
        return [
            Line(texts[i], round(confidences[i], 4), boxes[i].round(1).tolist(), flipped[i])
            for i in geometry.reading_order(boxes, page_upside_down)
            if texts[i].strip() and confidences[i] >= self.settings.min_line_confidence
        ]
