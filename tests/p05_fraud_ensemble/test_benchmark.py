"""The benchmark runs end to end on a small share of the work and writes what the docs page
includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

import pytest
from study.local.fraud_ensemble import bench


def test_small_benchmark_writes_json_charts_and_tables(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert {(r["setup"], r["concurrency"]) for r in result["latency"]} == {
        (s, c) for s in bench.SETUPS for c in bench.CONCURRENCY
    }
    assert all(r["p50_ms"] > 0 and r["requests_per_s"] > 0 for r in result["latency"])
    assert set(result["quality"]) == {"gbm", "logreg", "mlp", "ensemble"}
    assert {p.suffix for p in paths} == {".json", ".png", ".md"}
