"""The GPU benchmark, tested up to the GPU: the same code runs here against the local llama.cpp
stack (labelled as such); on a GPU host it is pointed at the compose stack with vLLM."""

from __future__ import annotations

import json

from study.local.streaming_llm_chat import bench_gpu


def test_gpu_benchmark_measures_streams_against_a_running_stack(tmp_path, monkeypatch, stack):
    monkeypatch.setenv("STUDY_BENCH_DEVICE", "CPU (test run)")
    monkeypatch.setenv("STUDY_BENCH_API_URL", stack.url)
    monkeypatch.setenv("STUDY_BENCH_LLM_URL", stack.llm.base_url)
    monkeypatch.setenv("STUDY_BENCH_LLM_MODEL", "local")
    monkeypatch.setattr(bench_gpu, "CONCURRENCY", (1, 2))  # llama.cpp on two cores: keep it short
    json_path, md_path = bench_gpu.run_gpu(tmp_path, scale=0.05, report=lambda _: None)
    (run,) = json.loads(json_path.read_text())["runs"]
    assert run["device"] == "CPU (test run)" and run["model"] == "local"
    rows = run["results"]
    assert {(r["target"], r["concurrency"]) for r in rows} == {(t, c) for t in ("api", "llm-server") for c in (1, 2)}
    assert all(r["ttft_p50_ms"] > 0 and r["inter_token_p50_ms"] > 0 for r in rows)
    assert all(r["kv_cache_use_max"] is None for r in rows)  # llama.cpp publishes no KV-cache gauge
    assert "| CPU (test run) | local | api | 2 |" in md_path.read_text()


def test_kv_cache_use_is_read_from_either_gauge_name():
    assert bench_gpu.kv_cache_use('vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.25\n') == 0.25
    assert bench_gpu.kv_cache_use('vllm:gpu_cache_usage_perc{model_name="m"} 0.5\n') == 0.5
    assert bench_gpu.kv_cache_use("vllm:num_requests_running 3\n") is None
