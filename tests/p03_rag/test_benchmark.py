"""The benchmark runs end to end on a small share of the work and writes what the docs page
includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

import pytest

from study.bench import rag as bench


def test_small_benchmark_writes_json_chart_table_and_example(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, png_path, md_path, example_path = bench.run(tmp_path, scale=0.1, report=lambda _: None)
    result = json.loads(json_path.read_text())
    assert result["retrieval"]["questions"] >= 40
    assert set(result["retrieval"]["by_page"]) == {"recall@1", "recall@5", "mrr"}
    assert [row["batch"] for row in result["ingestion"]] == [1, 32]
    assert result["ingestion"][0]["chunks"] == result["ingestion"][1]["chunks"] > 0
    assert result["index_course"]["unchanged"]["unchanged"] == result["index_course"]["first"]["added"]
    assert {"embed", "search", "total"} <= set(result["answers"]["stages_ms"])
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert "| by page |" in md_path.read_text()
    example = json.loads(example_path.read_text())
    assert example["citations"] and example["mode"] in ("generated", "not_covered")
