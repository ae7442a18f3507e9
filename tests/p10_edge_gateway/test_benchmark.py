"""The benchmark runs end to end on a small share of its load, on the session's stack, and writes
what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

from study.local.edge_gateway import bench


def test_small_benchmark_writes_json_chart_and_tables(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert set(result["model"]) == {"fp32", "int8"} and 0 <= result["model"]["int8"]["top1_agreement_with_fp32"] <= 1
    profiles = [r["profile"] for r in result["gateway_load"]]
    assert profiles == ["two cores", "two cores", "one core (taskset -c 0)", "one core (taskset -c 0)"]
    assert all(r["errors"] == 0 for r in result["gateway_load"] if r["concurrency"] == 1)
    cached = {(r["workload"].split(":")[0], r["cache"]): r["cache_hit_rate"] for r in result["cache"]}
    assert cached[("camera", "off")] == 0 and cached[("camera", "on")] > 0  # repeats hit only with the cache on
    assert list(result["memory"]["parts_mib"]) == list(bench.PARTS)
    assert result["sync"]["queued"] > 0 and result["disk"]["results"] >= 1000
    assert {p.name for p in paths} == {"benchmark.json", "benchmark.png", "benchmark.md"}
