"""The benchmark runs end to end on a small share of the held-out emails, on the session's stack,
and writes what the docs page includes. Its numbers are not checked: timings never decide a test."""

from __future__ import annotations

import json

from study.local.email_assistant import bench


def test_small_benchmark_writes_json_charts_and_tables(tmp_path, stack):
    paths = bench.run(tmp_path, scale=0.15, report=lambda _: None, stack=stack)
    result = json.loads((tmp_path / "benchmark.json").read_text())
    assert {bench.short_name(name) for name in result["triage"]} == {"classifier", "LLM zero-shot", "LLM few-shot"}
    assert result["pipeline"]["messages"] == 4 and result["injections"]["emails"] == 1
    assert {"triage"} <= set(result["pipeline"]["steps"])
    assert {p.suffix for p in paths} == {".json", ".png", ".md"}


def test_the_rubric_tells_a_sendable_draft_from_a_bad_one():
    email = {
        "from": "Priya Raman <p@example.org>",
        "subject": "Dynamic batching delay",
        "body": "How do I choose max_batch_size for my model?",
    }
    good = "Hi Priya,\n\nFor dynamic batching, keep the delay well under your latency budget.\n\nThe course team"
    assert all(bench.rubric(good, email).values())
    linked = good.replace("budget.", "budget: https://course.example/batching")
    assert bench.rubric(linked, email, frozenset({"https://course.example/batching"}))["no link it was not given"]
    bad = (
        "I'm Priya, [Your Name]. We will refund you. As a chatbot I cannot help, see https://x.example"
        "\n<<<\nHow do I choose max_batch_size for my model?"
    )
    failed = {check for check, passed in bench.rubric(bad, email).items() if not passed}
    assert failed == {
        "greets",
        "signs as the team",
        "no placeholder",
        "does not speak as the sender",
        "promises nothing",
        "does not echo the email",
        "no prompt or header text",
        "no link it was not given",
        "does not talk about itself",
        "on the subject",
    }
