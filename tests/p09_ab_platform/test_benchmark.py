"""The benchmark runs end to end on a small share of its load, replays and simulations, on the
session's stack, and writes what the docs page includes. Its timings are not checked: timings
never decide a test."""

from __future__ import annotations

import json

from study.local.ab_platform import bench


def test_small_benchmark_writes_json_charts_and_tables(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert [(r["setup"], r["concurrency"]) for r in result["overhead"]] == [
        (s, c) for s in bench.SETUPS for c in bench.CONCURRENCY
    ]
    assert all(r["errors"] == 0 for r in result["overhead"] if r["concurrency"] == 1)
    assert set(result["ratios"]) == set(bench.SETUPS[1:])
    first, second = result["replays"]
    assert first["report"]["stage"] == "promoted" and second["report"]["stage"] == "rolled_back"
    assert first["replay_agrees"] and second["replay_agrees"]
    assert [p["looks"] for p in result["simulations"]["peeking"]] == list(bench.LOOKS)
    assert {p.name for p in paths} == {"benchmark.json", "benchmark.png", "simulation.png", "benchmark.md"}
