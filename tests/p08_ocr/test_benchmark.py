"""The benchmark runs end to end on a small share of its load and of the evaluation set, on the
session's stack, and writes what the docs page includes. Its numbers are not checked: timings
never decide a test."""

from __future__ import annotations

import json

from study.local.ocr import bench


def test_small_benchmark_writes_json_chart_and_table(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert [row["concurrency"] for row in result["load"]] == [1, 8, 32]
    assert all(list(row["stage_p50_ms"]) == list(bench.STAGES) for row in result["load"])
    # One client never waits in Triton's queue. With 32 on two busy cores a page can wait past the
    # service's 30-s deadline for a Triton call and get its 503: counted by the benchmark, not a defect.
    assert result["load"][0]["errors"] == 0
    assert "text_detection" in result["load"][0]["triton"]
    assert result["accuracy"]["pages"] == 8 and len(result["accuracy"]["engines"]) == 3
    cost = result["observability_cost"]
    assert cost["throughput_ratio_on_vs_off"] > 0 and set(cost) >= {"on", "off"}
    assert {p.suffix for p in paths} == {".json", ".png", ".md"}
