"""The pure parts, without a server: reading order, page preparation and the line batches, image
and PDF decoding limits, compressed time for the drill."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ocr import geometry
from ocr.images import ImageTooLarge, InvalidImage, decode_upload, is_pdf
from ocr.settings import Settings
from study.time_scale import scaled_duration, scaled_rules, seconds


def box(left: float, top: float, right: float, bottom: float) -> list[list[float]]:
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def test_reading_order_is_rows_from_the_top_then_left_to_right():
    boxes = np.array(
        [
            box(200, 52, 300, 70),  # row 2, right
            box(10, 10, 120, 30),  # row 1, left
            box(10, 50, 150, 72),  # row 2, left (a little lower than its neighbour)
            box(140, 12, 260, 31),  # row 1, right
            box(10, 90, 300, 110),  # row 3
        ],
        dtype=np.float32,
    )
    assert geometry.reading_order(boxes) == [1, 3, 2, 0, 4]


def test_a_tall_heading_does_not_swallow_the_next_line():
    boxes = np.array([box(10, 0, 400, 60), box(10, 50, 200, 70)], dtype=np.float32)  # overlap: 10 of 20
    assert geometry.reading_order(boxes) == [0, 1]
    assert geometry.reading_order(np.zeros((0, 4, 2), dtype=np.float32)) == []


def test_a_page_is_prepared_as_pp_ocr_expects():
    page = geometry.prepare_page(np.full((191, 384, 3), 255, np.uint8), Settings())
    _, channels, height, width = page.detector_input.shape
    assert channels == 3 and height % 32 == 0 and width % 32 == 0
    assert min(height, width) == 736  # the shorter side at detection_side
    assert page.detector_input.max() <= 1 and page.detector_input.min() >= -1


def test_enlargement_before_detection_is_capped():
    settings = Settings()
    label = geometry.detector_input(np.full((96, 500, 3), 255, np.uint8), settings)
    assert label.shape == (1, 3, 384, 1984)  # 4x, not the 7.7x that 736 pixels would take
    uncapped = geometry.detector_input(np.full((96, 500, 3), 255, np.uint8), Settings(max_upscale=1000))
    assert uncapped.shape[2] == 736
    large = geometry.detector_input(np.full((1000, 1200, 3), 255, np.uint8), settings)
    assert large.shape == (1, 3, 992, 1216)  # never shrunk, only rounded to multiples of 32


def test_an_upside_down_page_is_read_from_its_own_top():
    boxes = np.array([box(10, 10, 120, 30), box(140, 12, 260, 31), box(10, 50, 150, 72)], dtype=np.float32)
    assert geometry.reading_order(boxes, upside_down=True) == [2, 1, 0]


def test_lines_are_batched_at_one_height_and_the_widest_width():
    lines = [np.zeros((30, 300, 3), np.uint8), np.zeros((40, 80, 3), np.uint8)]
    batch = geometry.recognition_batch(lines)
    assert batch.shape == (2, 3, 48, 480)  # 300/30 * 48 = 480 wide
    assert geometry.direction_batch(lines).shape == (2, 3, 48, 192)


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_decoding_limits():
    assert decode_upload(png((30, 20)), 1, 150, 1000).shape == (20, 30, 3)
    with pytest.raises(ImageTooLarge):
        decode_upload(png((40, 30)), 1, 150, 1000)
    with pytest.raises(InvalidImage):
        decode_upload(b"GIF89a", 1, 150, 1000)
    assert is_pdf(b"  %PDF-1.7 ...") and not is_pdf(png((2, 2)))


def test_compressed_time_divides_every_duration():
    assert seconds("1h30m") == 5400 and scaled_duration("5m", 60) == "5000ms"
    rules = "expr: rate(x[5m]) / rate(y[1h])\n    for: 2m\n"
    assert scaled_rules(rules, 60) == "expr: rate(x[5000ms]) / rate(y[60000ms])\n    for: 2000ms\n"
    with pytest.raises(ValueError):
        seconds("5 minutes")
