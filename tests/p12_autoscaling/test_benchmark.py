"""The benchmark runs end to end on a small share of its trace, on the session's stack, and writes
what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

from study.local.autoscaling import bench


def test_small_benchmark_writes_json_chart_and_tables(tmp_path, stack):
    policies = ("fixed: 1 replica", "autoscale 0-2, target 2")
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, stack=stack, policies=policies)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert [p["policy"] for p in result["policies"]] == list(policies)
    for policy in result["policies"]:
        assert policy["served"] + policy["refused_429"] + policy["failed"] == policy["requests"] > 0
        assert policy["failed"] == 0 and policy["replica_seconds"] > 0
    assert set(result["keda_calculated"]) and set(result["cold_start"]) >= {"total_s", "model_load_s"}
    assert {p.name for p in paths} == {"benchmark.json", "benchmark.png", "benchmark.md"}
    assert stack.policy == bench.LOCAL_POLICY  # the stack's own policy is back
