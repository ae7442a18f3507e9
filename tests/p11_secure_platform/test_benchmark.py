"""The benchmark runs end to end on a small share of its load, on the session's stack, and writes
what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

from study.local.secure_platform import bench


def test_small_benchmark_writes_json_chart_and_tables(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert list(result["security_cost"]["stages"]) == list(bench.STAGES)
    assert [r["concurrency"] for r in result["throughput"]] == [1, 4, 8]
    for load in result["throughput"]:
        assert load["audit_records_written"] == load["requests"]  # every answer, 200 or 429, audited
        assert load["ok"] + load["limited"] == load["requests"]
    floods = result["noisy_neighbour"]["floods"]
    assert [(f["noisy_plan"], f["noisy_honours_retry_after"]) for f in floods] == [
        (plan, honours) for plan in bench.NOISY_PLANS for honours in (False, True)
    ]
    assert all(f["noisy"]["served"] > 0 for f in floods)
    assert set(result["not_found"]) == {"another tenant's model", "no such model"}
    assert {p.name for p in paths} == {"benchmark.json", "benchmark.png", "benchmark.md"}
