"""The GPU benchmark, tested up to the GPU: the same code runs here against the local CPU stack
(labelled as such), so on a GPU host only the stack it is pointed at differs."""

from __future__ import annotations

import json

import pytest
from study.local.image_classification import bench_gpu


@pytest.fixture
def against(monkeypatch, stack):
    """Point the benchmark at the running local stack, and label the run as a CPU test."""
    monkeypatch.setenv("STUDY_BENCH_DEVICE", "CPU (test run)")
    monkeypatch.setenv("STUDY_BENCH_API_URL", stack.url)
    monkeypatch.setenv("STUDY_BENCH_TRITON_GRPC", stack.triton.grpc_url)
    monkeypatch.setenv("STUDY_BENCH_TRITON_METRICS", stack.triton.metrics_url)
    return monkeypatch


def test_gpu_benchmark_measures_the_model_not_the_cache(tmp_path, against):
    against.setenv("STUDY_BENCH_CONFIG", "first")
    bench_gpu.run_gpu(tmp_path, scale=0.05, report=lambda _: None)
    against.setenv("STUDY_BENCH_CONFIG", "second")
    json_path, md_path = bench_gpu.run_gpu(tmp_path, scale=0.05, report=lambda _: None)
    runs = json.loads(json_path.read_text())["runs"]
    assert [(r["device"], r["config"]) for r in runs] == [("CPU (test run)", "first"), ("CPU (test run)", "second")]
    for run in runs:
        rows = run["results"]
        assert {(r["target"], r["concurrency"]) for r in rows} == {
            (t, c) for t in ("api", "triton") for c in bench_gpu.CONCURRENCY
        }
        assert all(r["errors"] == 0 for r in rows)
        # every photo is new, so the response cache (on in the local stack too) answered none
        assert all(r["cache_hits"] == 0 for r in rows)
    assert md_path.read_text().count("| CPU (test run) |") == len(runs) * 6
