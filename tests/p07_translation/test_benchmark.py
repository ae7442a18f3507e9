"""The benchmark runs end to end on a small share of the held-out segments, on the session's stack,
and writes what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

from study.local.translation import bench


def test_small_benchmark_writes_json_charts_and_tables(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.1, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert set(result["engines"]) == {"apertium", f"gemma {bench.PRECISION}"}
    assert result["segments"] == 6 and set(result["policies"]) == {"cheapest", "neural", "by_length"}
    work = result["repeated_workload"]
    assert work["first"]["status"] == work["edited_again"]["status"] == "done"
    assert work["edited_again"]["engine_segments"] < work["edited_again"]["segments"]  # the memory answered some
    assert {p.suffix for p in paths} == {".json", ".png", ".md"}


def test_the_cost_model_turns_time_per_character_into_dollars():
    # 1 ms per character at $3.60 an hour: a million characters take 1000 s, which cost $1
    assert bench.dollars_per_million(1.0, 3.60) == 1.0
    assert bench.dollars_per_million(1.0, 3.60, hit_ratio=0.75) == 0.25
