"""Malformed, oversized and hostile uploads get a clear problem+json answer, and the service goes
on reading the next page."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from problem_details import assert_problem

from .conftest import ocr, png


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's trick)."""
    data = bytearray(png(Image.new("RGB", (8, 8), "white")))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def pdf_of(image: Image.Image, resolution: float = 150) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=resolution)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "content_type", "status", "slug"),
    [
        (b"", "empty.png", "image/png", 422, "invalid-image"),
        (b"these are not the pixels you are looking for", "notes.png", "image/png", 422, "invalid-image"),
        (png(Image.new("RGB", (600, 400), "white"))[:300], "cut.png", "image/png", 422, "invalid-image"),
        (b"%PDF-1.7\n1 0 obj << broken", "broken.pdf", "application/pdf", 422, "invalid-image"),
        (b"hello", "notes.txt", "text/plain", 415, "unsupported-media-type"),
        (png_claiming(30_000, 30_000), "bomb.png", "image/png", 413, "image-too-large"),
        (png_claiming(8_000, 6_000), "huge.png", "image/png", 413, "image-too-large"),
        (
            pdf_of(Image.new("RGB", (200, 200), "white"), resolution=1),
            "poster.pdf",
            "application/pdf",
            413,
            "image-too-large",
        ),
    ],
    ids=["empty", "not-an-image", "truncated", "broken-pdf", "text-file", "bomb", "too-many-pixels", "huge-pdf-page"],
)
def test_bad_files_get_a_problem(client, data, name, content_type, status, slug):
    answer = ocr(client, data, name, content_type)
    assert_problem(answer, status, slug)


def test_a_page_the_pdf_does_not_have(client):
    answer = ocr(client, pdf_of(Image.new("RGB", (300, 200), "white")), "one.pdf", "application/pdf", page=3)
    assert_problem(answer, 422, "invalid-image")
    assert "the PDF has 1 page" in answer.json()["detail"]


def test_a_page_number_for_an_image(client):
    answer = ocr(client, png(Image.new("RGB", (300, 200), "white")), page=2)
    assert_problem(answer, 422, "invalid-image")


def test_page_zero_is_a_validation_error(client):
    assert_problem(ocr(client, png(Image.new("RGB", (30, 20), "white")), page=0), 422, "validation-error")


def test_a_file_over_the_upload_limit(client):
    answer = ocr(client, b"\x00" * (20 * 1024 * 1024 + 1), "big.png")
    assert_problem(answer, 413, "payload-too-large")


def test_too_many_files_in_a_batch(client):
    files = [("files", (f"{i}.png", b"x", "image/png")) for i in range(17)]
    assert_problem(client.post("/v1/ocr/batch", files=files), 422, "too-many-images")


def test_the_service_reads_on_after_hostile_input(client, page_photo):
    for data in (png_claiming(30_000, 30_000), b"\xff\xd8\xff\xe0 not a jpeg"):
        assert ocr(client, data).status_code in (413, 422)
    assert ocr(client, page_photo.image).status_code == 200
