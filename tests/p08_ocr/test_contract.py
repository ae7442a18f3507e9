"""What /v1/ocr promises: lines in reading order with boxes and confidences, the versions of the
models that answered, time per stage; PDFs by page; batches where one bad file spoils nothing."""

from __future__ import annotations

import io

import httpx
from PIL import Image, ImageDraw, ImageFont
from study.local.ocr.evaluation import FONT_DIR, Score

from ocr.metrics import STAGES

from .conftest import ocr, png


def text_page(lines: list[str], size: int = 32) -> Image.Image:
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), size)
    page = Image.new(
        "RGB", (int(max(font.getlength(s) for s in lines)) + 2 * size, size * (2 * len(lines) + 1)), "white"
    )
    draw = ImageDraw.Draw(page)
    for i, line in enumerate(lines):
        draw.text((size, size * (1 + 2 * i)), line, font=font, fill="black")
    return page


def test_the_photographed_page_is_read_line_by_line_in_order(client, page_photo):
    answer = ocr(client, page_photo.image)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    texts = [line["text"] for line in body["lines"]]
    assert texts[0] == "Region-based segmentation" and texts[-1] == "markers = np.zeros like(coins)"
    assert body["text"] == "\n".join(texts)
    score = Score()
    score.add(page_photo.truth, texts)
    assert score.cer < 0.15, texts  # one line is half hidden by the book's curve (see the page)
    tops = [min(y for _, y in line["box"]) for line in body["lines"]]
    assert tops == sorted(tops)
    for line in body["lines"]:
        assert 0 <= line["confidence"] <= 1 and len(line["box"]) == 4
        assert all(0 <= x <= body["width"] and 0 <= y <= body["height"] for x, y in line["box"])
    assert (body["width"], body["height"]) == (384, 191)
    assert set(body["model_versions"]) == {"detection", "direction", "recognition"}
    assert list(body["timings_ms"]) == list(STAGES)  # in the order they ran


def test_an_upside_down_page_is_turned_and_read(client):
    lines = ["Invoice 2026-0412 is due within 30 days.", "Please quote the order number."]
    answer = ocr(client, png(text_page(lines).rotate(180)))
    assert answer.status_code == 200
    body = answer.json()
    assert [line["text"] for line in body["lines"]] == lines
    assert all(line["upside_down"] for line in body["lines"])


def test_a_pdf_is_read_page_by_page(client):
    pages = [text_page(["First page: the summary."]), text_page(["Second page: the details."])]
    pdf = io.BytesIO()
    pages[0].save(pdf, "PDF", save_all=True, append_images=pages[1:], resolution=150)
    second = ocr(client, pdf.getvalue(), "report.pdf", "application/pdf", page=2)
    assert second.status_code == 200, second.text
    assert second.json()["text"] == "Second page: the details."
    first = ocr(client, pdf.getvalue(), "report.pdf", "application/pdf")
    assert first.json()["text"] == "First page: the summary."


def test_a_blank_page_has_no_lines_and_counts_as_empty(client, base_url):
    def empty_pages() -> float:
        metrics = httpx.get(f"{base_url}/metrics").text
        return float(
            next(line for line in metrics.splitlines() if line.startswith('ocr_pages_total{result="empty"}')).split()[
                -1
            ]
        )

    before = empty_pages()
    answer = ocr(client, png(Image.new("RGB", (400, 300), "white")))
    assert answer.status_code == 200
    assert answer.json()["lines"] == [] and answer.json()["text"] == ""
    assert empty_pages() == before + 1


def test_a_batch_reads_every_readable_file_and_names_the_broken_one(client, page_photo):
    files = [
        ("files", ("page.png", page_photo.image, "image/png")),
        ("files", ("broken.png", b"\x89PNG\r\n\x1a\n not really", "image/png")),
        ("files", ("sign.png", png(text_page(["Emergency exit on the left."])), "image/png")),
    ]
    answer = client.post("/v1/ocr/batch", files=files)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["filename"] for r in results] == ["page.png", "broken.png", "sign.png"]
    assert results[0]["result"]["lines"] and results[0]["error"] is None
    assert results[1]["result"] is None and results[1]["error"]["type"] == "/problems/invalid-image"
    assert results[2]["result"]["text"] == "Emergency exit on the left."


def test_readiness_metrics_and_request_ids(client):
    assert client.get("/health/ready").json() == {"status": "ready"}
    answer = client.get("/health/live", headers={"X-Request-ID": "0123456789abcdef0123456789abcdef"})
    assert answer.headers["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    metrics = client.get("/metrics").text
    for family in ("ocr_stage_duration_seconds", "ocr_line_confidence", "ocr_pages_total", "http_requests_total"):
        assert f"# TYPE {family} " in metrics
