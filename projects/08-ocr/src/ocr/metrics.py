"""The service's own metrics, beside the per-route RED metrics of the instrumentator: time per
pipeline stage, and quality signals that need no labels (how sure the recogniser is, how often a
page yields nothing). Prometheus scrapes them from /metrics; the SLO rules read them."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STAGES = ("decode", "detect", "crop", "classify", "recognize", "order")

STAGE_SECONDS = Histogram(
    "ocr_stage_duration_seconds",
    "Time spent in one stage of the OCR pipeline, per page.",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LINE_CONFIDENCE = Histogram(
    "ocr_line_confidence",
    "The recogniser's confidence in each line it returned (mean character probability).",
    buckets=(0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0),
)
PAGES = Counter("ocr_pages_total", "Pages read, by whether any text was found.", ["result"])
BACKEND_UNAVAILABLE = Counter("ocr_backend_unavailable_total", "Requests answered 503: Triton could not serve.")

for stage in STAGES:  # every series exists from the start, so rate() has a first sample
    STAGE_SECONDS.labels(stage)
for result in ("text", "empty"):
    PAGES.labels(result)
