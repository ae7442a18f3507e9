"""The benchmark runs end to end on a tiny load (llama.cpp only, to keep the suite short) and
writes what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

import pytest
from study.local.streaming_llm_chat import bench, bench_capacity

from capacity_checks import read_capacity
from study.errors import StudyError
from study.llm_local import decode_ms_per_token


def test_small_benchmark_writes_json_chart_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    json_path, png_path, md_path, example_path = bench.run(
        tmp_path, scale=0.1, report=lambda _: None, backends=("llama.cpp",), only="streams"
    )
    result = json.loads(json_path.read_text())
    assert {(r["target"], r["concurrency"]) for r in result["results"]} == {
        (t, c) for t in ("api", "llm-server") for c in (1, 4, 16)
    }
    assert all(r["ttft_p50_ms"] > 0 and r["tokens_per_s_total"] > 0 for r in result["results"])
    assert result["memory"]["llama.cpp"]["service_rss_peak_mb"] > 0
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert "| llama.cpp | API | 16 |" in md_path.read_text()
    example = example_path.read_text()
    assert example.startswith("event: token\n") and "event: done\n" in example


def test_prefix_reuse_part_writes_json_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, md_path = bench.run(
        tmp_path, scale=0.1, report=lambda _: None, backends=("llama.cpp",), only="prefix-reuse"
    )
    result = json.loads(json_path.read_text())
    assert {row["case"] for row in result["follow_ups"]} == {*bench.CASES, bench.OTHER_TURN}
    kept, lost = result["summary"]
    assert (kept["case"], lost["case"]) == bench.CASES
    assert lost["computed_tokens_median"] > kept["computed_tokens_median"]  # token counts, not timings
    assert "| llama.cpp | after another conversation |" in md_path.read_text()


def test_an_unknown_part_is_refused(tmp_path):
    with pytest.raises(StudyError, match="prefix-reuse"):
        bench.run(tmp_path, only="nope")


def test_tenant_fairness_part_writes_json_chart_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, png_path, md_path = bench.run(tmp_path, scale=0.1, report=lambda _: None, only="tenant-fairness")
    result = json.loads(json_path.read_text())
    without, with_share = result["setups"]
    assert (without["noisy_share"], with_share["noisy_share"]) == (None, 2)
    assert without["noisy_refused"] == 0 < with_share["noisy_refused"]  # counts, not timings
    for row in result["setups"]:
        assert len(row["quiet_ttft_ms"]) == row["quiet_messages"] == 2 and len(row["runs"]) == 1
        assert row["tokens_by_tenant"]["quiet"] > 0 and row["tokens_by_tenant"]["noisy"] > 0
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert "| noisy tenant's share: 2 |" in md_path.read_text()


def test_admission_part_writes_json_and_table_with_the_servers_own_decode_speed(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stacks")
    json_path, md_path = bench.run(tmp_path, scale=0.1, report=lambda _: None, only="admission")
    result = json.loads(json_path.read_text())
    assert [r["case"] for r in result["results"]] == [case for case, _, _ in bench.ADMISSION]
    for row in result["results"]:
        assert row["streams"] == result["clients"] * result["streams_per_client"]
        assert row["server_decode_ms_per_token_p50"] > 0  # read from llama.cpp's log: it was found
    assert "| through the service, at most 1 at once |" in md_path.read_text()


def test_the_servers_decode_timing_is_read_from_its_log_lines():
    log = (
        "llama_perf_context_print: prompt eval time =   70.20 ms /  10 tokens (  7.02 ms per token, 142.45 t/s)\n"
        "llama_perf_context_print:        eval time =  425.58 ms /  31 runs   ( 13.73 ms per token,  72.84 t/s)\n"
    )
    assert decode_ms_per_token(log) == [13.73]


def test_capacity_part_sweeps_open_loop_rates(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, png_path, md_path = bench.run(tmp_path, scale=0.05, report=lambda _: None, only="capacity")
    result, rows = read_capacity(json_path, png_path, md_path, bench_capacity.FRACTIONS)
    assert result["closed_loop_4"]["errors"] == 0
    lightest = rows[0]
    assert lightest["sent"] == 0 or lightest["achieved_rps"] > 0  # a short run may draw no arrival
    # every refusal is an error, and every error here a refusal: nothing else went wrong
    assert all(r["errors"] == r["refused_429"] for r in rows)
    assert "TTFT p95 ms" in md_path.read_text()
