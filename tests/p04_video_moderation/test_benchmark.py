"""The benchmark runs end to end on a small share of the work and writes what the docs page
includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

import pytest
from study.local.video_moderation import bench


def test_small_benchmark_writes_json_chart_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    json_path, png_path, md_path = bench.run(tmp_path, scale=0.1, report=lambda _: None)
    result = json.loads(json_path.read_text())
    assert {(r["workers"], r["batch"]) for r in result["results"]} == {(w, b) for w in (1, 2) for b in (1, 8, 32)}
    assert all(
        r["frames"] > 0 and r["frames_per_s"] > 0 and r["submit_to_webhook_p50_s"] > 0 for r in result["results"]
    )
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert "| 2 | 32 |" in md_path.read_text()
