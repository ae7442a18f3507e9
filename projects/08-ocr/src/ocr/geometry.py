"""The work between the models, on the CPU next to them: shape a page for detection, turn the
detector's probability map into boxes, cut each box out as a straight line of text, shape the lines
for the direction and recognition models, and put the lines in reading order.

PP-OCR's own pre- and post-processing (DB boxes, perspective crops, the page's size bounds) comes
from the ``rapidocr`` package, so the service reads exactly what PP-OCR was trained to read; the
models themselves run on Triton."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess
from rapidocr.utils.process_img import (
    apply_vertical_padding,
    get_rotate_crop_image,
    map_boxes_to_original,
    resize_image_within_bounds,
)

from ocr.settings import Settings

DIRECTION_SHAPE = (48, 192)  # height, width: every line is resized (and padded) to this
LINE_HEIGHT = 48  # the recogniser's input height; widths follow the line, at least 320
MIN_LINE_WIDTH = 320
WIDE_PAGE_RATIO = 8  # a page wider than 8x its height is padded top and bottom before detection
MIN_PAGE_HEIGHT = 30


@dataclass
class Page:
    """A page as the detector sees it, and how to map its coordinates back to the upload's."""

    original_shape: tuple[int, int]  # height, width of the upload
    bgr: np.ndarray  # resized within bounds and padded: the crops are cut from this
    detector_input: np.ndarray  # [1,3,H,W] float32, H and W multiples of 32
    record: dict  # the resize and padding applied, to map boxes back


def prepare_page(rgb: np.ndarray, settings: Settings) -> Page:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # PP-OCR models were trained on BGR images
    resized, ratio_h, ratio_w = resize_image_within_bounds(bgr, settings.min_side, settings.max_side)
    record: dict = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
    padded, record = apply_vertical_padding(resized, record, WIDE_PAGE_RATIO, MIN_PAGE_HEIGHT)
    return Page(rgb.shape[:2], padded, detector_input(padded, settings), record)


# --8<-- [start:detection-size]
def detector_input(page: np.ndarray, settings: Settings) -> np.ndarray:
    """[1,3,H,W]: the page scaled so that its shorter side is ``detection_side`` (never shrunk, and
    never enlarged more than ``max_upscale`` times), each side rounded to a multiple of 32."""
    height, width = page.shape[:2]
    ratio = max(1.0, settings.detection_side / min(height, width))
    ratio = min(ratio, max(1.0, settings.max_upscale))
    size = [max(32, int(round(int(side * ratio) / 32) * 32)) for side in (width, height)]
    normalise = DetPreProcess(settings.detection_side, "min", [0.5] * 3, [0.5] * 3)  # PP-OCR's scaling
    chw = normalise.permute(normalise.normalize(cv2.resize(page, size)))
    return np.expand_dims(chw, axis=0).astype(np.float32)


# --8<-- [end:detection-size]


def boxes_from_map(probability_map: np.ndarray, page: Page, settings: Settings) -> tuple[np.ndarray, list[float]]:
    """Quadrilaterals [N,4,2] around the text in ``page.bgr``'s coordinates, and their scores."""
    postprocess = DBPostProcess(
        thresh=settings.pixel_threshold,
        box_thresh=settings.box_threshold,
        max_candidates=1000,
        unclip_ratio=settings.unclip_ratio,
        score_mode="fast",
        use_dilation=True,
    )
    boxes, scores = postprocess(probability_map, page.bgr.shape[:2])
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2), list(scores)


def crop_lines(page: Page, boxes: np.ndarray) -> list[np.ndarray]:
    """Each box cut out and warped to an upright rectangle (tall ones turned to lie flat)."""
    return [get_rotate_crop_image(page.bgr, box.copy()) for box in boxes]


def to_original(boxes: np.ndarray, page: Page) -> np.ndarray:
    """Boxes in the upload's pixel coordinates."""
    if len(boxes) == 0:
        return boxes
    return map_boxes_to_original(boxes.copy(), page.record, *page.original_shape)


def _normalise(line: np.ndarray, height: int, width: int, max_width: int) -> np.ndarray:
    """Resize to ``height`` x ``width``, scale to [-1, 1], pad with zeros on the right to ``max_width``."""
    resized = cv2.resize(line, (width, height)).astype(np.float32).transpose(2, 0, 1) / 255.0
    padded = np.zeros((3, height, max_width), dtype=np.float32)
    padded[:, :, :width] = (resized - 0.5) / 0.5
    return padded


def direction_batch(lines: list[np.ndarray]) -> np.ndarray:
    """[N,3,48,192]: each line at 48 pixels high, its aspect ratio kept up to 192 wide."""
    height, max_width = DIRECTION_SHAPE
    return np.stack(
        [_normalise(line, height, min(max_width, math.ceil(height * _ratio(line))), max_width) for line in lines]
    )


def recognition_batch(lines: list[np.ndarray]) -> np.ndarray:
    """[N,3,48,W]: lines at 48 pixels high, padded to the widest line's width (at least 320)."""
    widest = max([MIN_LINE_WIDTH / LINE_HEIGHT, *(_ratio(line) for line in lines)])
    max_width = int(LINE_HEIGHT * widest)
    return np.stack(
        [
            _normalise(line, LINE_HEIGHT, min(max_width, math.ceil(LINE_HEIGHT * _ratio(line))), max_width)
            for line in lines
        ]
    )


def _ratio(line: np.ndarray) -> float:
    return line.shape[1] / float(line.shape[0])


# --8<-- [start:reading-order]
def reading_order(boxes: np.ndarray, upside_down: bool = False) -> list[int]:
    """Indices of the boxes as a person reads them: rows from the top, left to right within a row.
    Two boxes share a row when their vertical extents overlap by more than half the shorter one,
    so a slightly tilted line stays one row and a tall heading does not swallow the next line.
    A page scanned upside down is read from its own top: the bottom of the image, right to left."""
    if len(boxes) == 0:
        return []
    if upside_down:
        boxes = -boxes
    tops, bottoms = boxes[:, :, 1].min(axis=1), boxes[:, :, 1].max(axis=1)
    lefts = boxes[:, :, 0].min(axis=1)
    # Rows in the order of where each box starts (its left edge's middle): on a tilted page a long
    # line's box reaches far below the short line under it, but it starts above it.
    starts = (boxes[:, 0, 1] + boxes[:, 3, 1]) / 2
    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=lambda i: starts[i]):
        row = rows[-1] if rows else None
        if row is not None:
            last = row[-1]
            overlap = min(bottoms[i], bottoms[last]) - max(tops[i], tops[last])
            shorter = min(bottoms[i] - tops[i], bottoms[last] - tops[last])
            if shorter > 0 and overlap > shorter / 2:
                row.append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda i: lefts[i])]


# --8<-- [end:reading-order]
