"""The benchmark runs end to end on a tiny load and writes what the docs page includes.
Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json
import re

import pytest
from study.local.image_classification import bench, bench_capacity, bench_edge, bench_overhead

from capacity_checks import read_capacity
from study.errors import StudyError


@pytest.mark.local_only
def test_small_benchmark_writes_json_chart_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    (json_path, png_path, md_path, example_path, cache_png, cache_md, summary_md, quantization_md, ensemble_md) = (
        bench.run(tmp_path, scale=0.05, report=lambda _: None, only="serving")
    )
    result = json.loads(json_path.read_text())
    assert {(r["target"], r["dynamic_batching"], r["concurrency"]) for r in result["results"]} == {
        (t, b, c) for t in ("api", "triton") for b in (True, False) for c in (1, 8, 32)
    }
    assert all(r["errors"] == 0 and r["throughput_rps"] > 0 for r in result["results"])
    assert all(r["avg_batch_size"] == 1.0 for r in result["results"] if not r["dynamic_batching"])
    assert set(result["ratios"]) >= {"batching_throughput_gain_c32", "api_over_triton_p50_c1"}
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| api | on | 32 |" in md_path.read_text()
    assert set(result["onnxruntime_ms_per_image"]) == {"1", "8", "32"}
    cache = result["response_cache"]
    assert {(r["target"], r["response_cache"]) for r in cache["results"]} == {
        (t, c) for t in ("api", "triton") for c in (True, False)
    }
    assert all(r["errors"] == 0 for r in cache["results"])
    assert all(r["cache_hits"] == 0 for r in cache["results"] if not r["response_cache"])
    assert all(r["cache_hits"] + r["model_runs"] == r["requests"] for r in cache["results"])
    # Half the requests repeat one of 16 images: most repeats must be hits (some race their twin).
    repeats = cache["workload"]["requests"] - cache["workload"]["distinct_images"]
    assert all(r["cache_hits"] > repeats / 2 for r in cache["results"] if r["response_cache"])
    assert cache_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| triton | on |" in cache_md.read_text()
    assert "average batch at 32 concurrent clients" in summary_md.read_text()
    assert result["quantization"]["int8_mib"] < result["quantization"]["fp32_mib"] / 3
    assert "| ms per image, batch 8 |" in quantization_md.read_text()
    network, ensemble = result["ensemble"]
    assert network["request_bytes"] == 4 * ensemble["request_bytes"] and ensemble["errors"] == 0
    assert "the ensemble, uint8 crop" in ensemble_md.read_text()
    example = json.loads(example_path.read_text())
    assert "cat" in example["predictions"][0]["label"] and len(example["predictions"]) == 3


@pytest.mark.local_only
def test_edge_part_writes_json_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    json_path, md_path = bench.run(tmp_path, scale=0.05, report=lambda _: None, only="edge")
    result = json.loads(json_path.read_text())
    assert [row["deployment"] for row in result["deployments"]] == list(bench_edge.DEPLOYMENTS)
    for row in result["deployments"]:
        assert row["rss_mb"] > 0 and row["installed_mb"] > 0
        assert all(level["errors"] == 0 for level in row["load"])
    triton, fp32, int8 = result["deployments"]
    assert int8["model_mb"] < fp32["model_mb"] == triton["model_mb"]  # sizes, not timings
    assert "| edge, int8 |" in md_path.read_text()


def test_an_unknown_part_is_refused(tmp_path):
    with pytest.raises(StudyError, match="edge"):
        bench.run(tmp_path, only="nope")


@pytest.mark.local_only
def test_capacity_part_sweeps_open_loop_rates(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    paths = bench.run(tmp_path, scale=0.05, report=lambda _: None, only="capacity")
    result, rows = read_capacity(*paths, bench_capacity.FRACTIONS)
    assert result["closed_loop_32"]["errors"] == 0
    assert all(r["sent"] > 0 for r in rows)
    assert rows[0]["errors"] == 0 and rows[0]["achieved_rps"] > 0  # the lightest rate: every request answered


@pytest.mark.local_only
def test_overhead_part_splits_the_services_time(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, md_path, *flame = bench.run(tmp_path, scale=0.05, report=lambda _: None, only="overhead")
    result = json.loads(json_path.read_text())
    assert result["requests_per_part"] == 10 * bench_overhead.ROUNDS
    parts = result["service"]
    assert set(parts) == {"decode_ms", "preprocess_ms", "inference_ms", "handler_rest_ms", "outside_handler_ms"}
    assert all(result[k] > 0 for k in ("client_p50_ms", "triton_direct_p50_ms", "decode_and_resize_p50_ms"))
    # the client waits for everything the handler does, and the handler for the Triton call it makes
    assert result["client_p50_ms"] > parts["inference_ms"] > 0 and parts["outside_handler_ms"] > 0
    assert result["asyncio_h11_client_p50_ms"] > result["triton_direct_p50_ms"]  # the other server answered
    assert result["httpx_client_p50_ms"] > result["triton_direct_p50_ms"]
    # local mode: Triton shares this host's /dev/shm, so every tensor skipped the gRPC message
    assert result["tensor_transfers"].get("shared_memory", 0) > 0 and "grpc" not in result["tensor_transfers"]
    assert "the service's overhead" in md_path.read_text() and "asyncio and h11" in md_path.read_text()
    if flame:
        assert flame[0].read_text().lstrip().startswith("<?xml") and result["flame_graph"] == flame[0].name
        assert "/" not in re.search(r'<text id="title"[^>]*>([^<]*)<', flame[0].read_text())[1]  # no paths
    else:  # py-spy may be refused the right to read another process: the result must say why
        assert result["flame_graph"] is None and result["flame_graph_error"]
