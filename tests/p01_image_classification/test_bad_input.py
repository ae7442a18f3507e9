"""Malformed, oversized and hostile input: a clear problem+json 4xx, and the service keeps serving."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def post_image(client, data: bytes, content_type: str = "image/jpeg", **params):
    return client.post("/v1/classify", params=params, files={"image": ("f", data, content_type)})


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (all-zero rows compress to almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * ((width // 8 + 1) * 64), 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def test_text_file_labelled_as_jpeg_is_not_an_image(client):
    assert_problem(post_image(client, b"hello, I am not a picture"), 422, "invalid-image")


def test_truncated_jpeg_is_corrupt(client, cat_jpeg):
    body = assert_problem(post_image(client, cat_jpeg[: len(cat_jpeg) // 3]), 422, "invalid-image")
    assert "corrupt" in body["detail"] or "truncated" in body["detail"]


def test_empty_file(client):
    assert_problem(post_image(client, b""), 422, "invalid-image")


def test_empty_body_and_missing_file(client):
    assert_problem(client.post("/v1/classify"), 422, "validation-error")
    assert_problem(client.post("/v1/classify", files={"other": ("f", b"x", "image/png")}), 422, "validation-error")


def test_unsupported_content_type_is_415(client, cat_jpeg):
    assert_problem(post_image(client, cat_jpeg, "application/pdf"), 415, "unsupported-media-type")
    assert_problem(post_image(client, b"<svg/>", "image/svg+xml"), 415, "unsupported-media-type")


def test_json_body_instead_of_a_form(client):
    response = client.post("/v1/classify", json={"image": "aGVsbG8="})
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize("top_k", [0, -1, 101, "many"])
def test_top_k_out_of_range(client, cat_jpeg, top_k):
    body = assert_problem(post_image(client, cat_jpeg, top_k=top_k), 422, "validation-error")
    assert body["errors"][0]["loc"] == ["query", "top_k"]


def test_oversized_upload_is_413_before_it_is_read(client):
    big = b"\xff\xd8" + b"\x00" * (40 * 1024 * 1024)  # past the 32 MiB request limit
    assert_problem(post_image(client, big), 413, "payload-too-large")


def test_file_over_the_per_image_limit_is_413(client):
    big = b"\xff\xd8" + b"\x00" * (9 * 1024 * 1024)  # under the request limit, over the 8 MiB image limit
    assert_problem(post_image(client, big), 413, "payload-too-large")


def test_chunked_body_without_length_is_counted(client):
    def chunks():
        boundary = b'--b\r\nContent-Disposition: form-data; name="image"; filename="f"\r\n\r\n'
        yield boundary
        for _ in range(40):
            yield b"\x00" * (1024 * 1024)

    response = client.post(
        "/v1/classify", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert_problem(response, 413, "payload-too-large")


@pytest.mark.parametrize("side", [8000, 20000])  # over the service's limit; over Pillow's own too
def test_decompression_bomb_is_refused_before_decoding(client, side):
    body = assert_problem(post_image(client, png_bomb(side, side), "image/png"), 413, "image-too-large")
    assert "pixels" in body["detail"]


def test_too_many_images_in_a_batch(client, cat_jpeg):
    files = [("images", (f"{i}.jpg", cat_jpeg, "image/jpeg")) for i in range(17)]
    assert_problem(client.post("/v1/classify/batch", files=files), 422, "too-many-images")


def test_one_bad_image_fails_the_batch_clearly(client, cat_jpeg):
    files = [("images", ("good.jpg", cat_jpeg, "image/jpeg")), ("images", ("bad.jpg", b"nope", "image/jpeg"))]
    assert_problem(client.post("/v1/classify/batch", files=files), 422, "invalid-image")


def test_unknown_route_and_wrong_method(client):
    assert_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(client.get("/v1/classify"), 405, "method-not-allowed")


def test_service_keeps_serving_after_bad_input(client, cat_jpeg):
    for payload in (b"", b"junk", cat_jpeg[:100]):
        post_image(client, payload)
    response = post_image(client, cat_jpeg)
    assert response.status_code == 200


def test_grayscale_and_rgba_images_are_accepted(client):
    for mode in ("L", "RGBA", "P"):
        buffer = io.BytesIO()
        Image.new(mode, (64, 48)).save(buffer, "PNG")
        assert post_image(client, buffer.getvalue(), "image/png").status_code == 200
