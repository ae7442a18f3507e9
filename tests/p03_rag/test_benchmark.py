"""The benchmark runs end to end on a small share of the work and writes what the docs page
includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

import pytest
from study.local.rag import bench


def test_small_benchmark_writes_json_chart_table_and_example(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, png_path, md_path, example_path = bench.run(tmp_path, scale=0.1, report=lambda _: None, only="pipeline")
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


def test_agent_part_writes_json_and_table(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, md_path = bench.run(tmp_path, scale=0.1, report=lambda _: None, only="agent")
    result = json.loads(json_path.read_text())
    constrained, prompt_only = result["modes"]
    assert (constrained["mode"], prompt_only["mode"]) == ("json_object", "none")
    for row in result["modes"]:
        assert row["runs"] == result["questions"] == 2 and len(row["details"]) == 2
        assert row["steps"] <= row["runs"] * result["max_steps"]
    assert constrained["valid_steps"] == constrained["steps"]  # counts, not timings
    assert constrained["answered"] == constrained["runs"]  # the last step can only be an answer
    assert "each step constrained to the schema" in md_path.read_text()


def test_faithfulness_part_judges_both_modes_after_measuring_its_judge(tmp_path, base_url_option):
    if base_url_option:
        pytest.skip("starts its own local stack")
    json_path, md_path = bench.run(tmp_path, scale=0.1, report=lambda _: None, only="faithfulness")
    result = json.loads(json_path.read_text())
    validation = result["validation"]
    assert validation["labelled_sentences"] >= 60 and 0 < validation["labelled_supported"] < 60
    assert validation["false_supported"] + validation["false_unsupported"] <= validation["labelled_sentences"]
    assert {a["mode"] for a in result["answers"]} == {"extractive", "generative"}
    extractive = result["modes"]["extractive"]
    # Quotes are the course's own sentences: the judge must find every one supported (a count, not a timing).
    assert extractive["answers_with_sentences"] > 0
    assert extractive["answers_fully_supported"] == extractive["answers_with_sentences"]
    assert result["modes"]["generative"]["answers"] > 0
    assert "| extractive |" in md_path.read_text()
