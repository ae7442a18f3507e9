"""The agent: the model chooses to search the course or to answer, step by step, inside a frame the
service enforces: two read-only tools, every step constrained to a JSON schema and validated again,
and a step budget the schema itself enforces (at the last step, "answer" is the only tool)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from study.local.rag.stack import Stack

from problem_details import assert_backend_unavailable, assert_problem
from rag.services.agent import ARGUMENT_MAX_CHARS, STEP_MAX_TOKENS, TOOLS, parse_step, step_schema
from study.metrics_page import metric_total

QUESTION = "How does project 02 stop generating when the client disconnects?"


# Units: no server needed.


def test_the_last_step_allows_only_the_answer_and_anything_else_is_not_a_step():
    assert step_schema(TOOLS)["properties"]["tool"]["enum"] == ["search_course", "answer"]
    assert step_schema(("answer",))["properties"]["tool"]["enum"] == ["answer"]
    assert parse_step('{"tool": "search_course", "argument": "batching"}', TOOLS).argument == "batching"
    # llama.cpp's grammar lets a raw line break into a string: accepted, as JSON with strict=False
    assert parse_step('{"tool": "answer", "argument": "two\nlines"}', ("answer",)).argument == "two\nlines"
    for text in (
        '{"tool": "search_course", "argument": "batching"}',  # valid, but not allowed now
        '{"tool": "delete_index", "argument": "all"}',
        '{"tool": "answer"}',
        '{"tool": "answer", "argument": "x", "extra": 1}',
        '{"tool": "answer", "argument": ""}',
        '["answer", "x"]',
        "The answer is 42.",
        "",
    ):
        assert parse_step(text, ("answer",)) is None, text


# With the real servers.


# --8<-- [start:step-bound]
def test_the_longest_step_the_schema_allows_fits_in_the_token_limit(stack: Stack):
    """Counted by the running LLM server's own tokenizer: a step whose argument is written in the
    most bytes per character (escapes, 4-byte characters) still fits; one token per character would
    not have been a bound at all."""

    def tokens(text: str) -> int:
        answer = httpx.post(f"{stack.llm.base_url.removesuffix('/v1')}/extras/tokenize", json={"input": text})
        answer.raise_for_status()
        return len(answer.json()["tokens"])

    escaped = '{"tool": "search_course", "argument": "' + "\\u00e9" * ARGUMENT_MAX_CHARS + '"}'
    emoji = '{"tool": "search_course", "argument": "' + "\U0001f9ea" * ARGUMENT_MAX_CHARS + '"}'
    assert parse_step(escaped, TOOLS) is not None and parse_step(emoji, TOOLS) is not None  # both valid steps
    worst = max(tokens(escaped), tokens(emoji))
    assert ARGUMENT_MAX_CHARS + 64 < worst <= STEP_MAX_TOKENS


# --8<-- [end:step-bound]


def agent(url: str, question: str = QUESTION, **extra) -> httpx.Response:
    return httpx.post(f"{url}/v1/agent", json={"question": question, **extra}, timeout=300)


# --8<-- [start:agent-test]
def test_the_agent_searches_then_answers_within_its_budget(base_url):
    response = agent(base_url, max_steps=3)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["finished"] == "answered" and run["answer"]
    assert 1 <= len(run["steps"]) <= 3 and run["steps"][-1]["tool"] == "answer"
    assert all(step["tool"] != "invalid" for step in run["steps"])  # constrained: every step is one
    numbers = [citation["number"] for citation in run["citations"]]
    assert numbers == list(range(1, len(numbers) + 1))
    shown = [n for step in run["steps"] for n in step["sources"]]
    assert shown == numbers  # every source the model saw came from one of its searches, once


# --8<-- [end:agent-test]


def test_a_budget_of_one_step_can_only_be_an_answer(base_url):
    run = agent(base_url, max_steps=1).json()
    assert [step["tool"] for step in run["steps"]] == ["answer"]
    assert run["finished"] == "answered" and run["citations"] == []


def test_bad_agent_requests_are_problems(base_url):
    assert_problem(agent(base_url, max_steps=0), 422, "validation-error")
    assert_problem(agent(base_url, max_steps=99), 422, "too-many-steps")
    assert_problem(agent(base_url, ""), 422, "validation-error")
    assert_problem(agent(base_url, tools=["shell"]), 422, "validation-error")
    assert_problem(agent(base_url, "why? " * 300), 413, "text-too-long")


@pytest.fixture(scope="module")
def unconstrained(stack, tmp_path_factory) -> Iterator[Stack]:
    """The same service, with the step's shape only asked for in the prompt."""
    beside = Stack(
        stack.triton,
        stack.milvus,
        stack.llm,
        tmp_path_factory.mktemp("agent-none"),
        {"RAG_LLM_STRUCTURED_OUTPUT": "none"},
    )
    beside.start_service()
    yield beside
    beside.stop_service()


def test_without_the_constraint_the_frame_still_holds(unconstrained):
    run = agent(unconstrained.url, max_steps=2).json()
    assert len(run["steps"]) <= 2
    for step in run["steps"]:  # whatever the model wrote is kept, as a step or as "invalid"
        assert step["tool"] in ("search_course", "answer", "invalid") and step["argument"]
    assert (run["finished"] == "answered") == (run["steps"][-1]["tool"] == "answer")
    assert (run["answer"] is None) == (run["finished"] == "step_budget")


def test_the_llm_down_is_503_for_the_agent(stack, base_url_option):
    if base_url_option:
        pytest.skip("kills a local backend")
    metrics = f"{stack.url}/metrics"
    steps_before = metric_total(metrics, "rag_agent_steps_total")
    stack.llm.kill()
    try:
        response = agent(stack.url, max_steps=2)
        assert_backend_unavailable(response, "llm")
        assert response.headers["Retry-After"] == "2"
    finally:
        stack.llm.start()
    assert metric_total(metrics, "rag_agent_steps_total") == steps_before  # no step was taken
    # Back up: the next run is answered, and each of its steps is counted under its tool.
    answers_before = metric_total(metrics, "rag_agent_steps_total", tool="answer")
    run = agent(stack.url, max_steps=1)
    assert run.status_code == 200, run.text
    steps = run.json()["steps"]
    assert metric_total(metrics, "rag_agent_steps_total") - steps_before == len(steps) == 1
    assert metric_total(metrics, "rag_agent_steps_total", tool="answer") - answers_before == sum(
        step["tool"] == "answer" for step in steps
    )
