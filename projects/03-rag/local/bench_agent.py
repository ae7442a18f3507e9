"""Project 03, part ``agent``: the agent over questions of the evaluation set, with each step
constrained to its JSON schema by the LLM server and with the shape only asked for in the prompt,
on the same stack (the service restarted between). Per mode: how many runs ended with an answer,
how many steps were valid, how many searches a run made, and whether the searches found the page
that answers the question. The baseline: retrieval with the question itself, as /v1/ask does it."""

from __future__ import annotations

import json
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from rag.evaluation import Retrieved, load_evaluation_set, page_match
from study.bench.load import machine

from .stack import EVALUATION_SET, running_stack

MODES = {"json_object": "each step constrained to the schema", "none": "the shape asked for in the prompt only"}
MAX_STEPS = 3
SEARCH_K = 3


def agent_runs(url: str, questions, report: Callable[[str], None], mode: str) -> list[dict]:
    runs = []
    for i, q in enumerate(questions, start=1):
        report(f"agent, {MODES[mode]}: question {i} of {len(questions)}")
        response = httpx.post(f"{url}/v1/agent", json={"question": q.question, "max_steps": MAX_STEPS}, timeout=600)
        response.raise_for_status()
        run = response.json()
        runs.append(
            {
                "question": q.question,
                "finished": run["finished"],
                "tools": [step["tool"] for step in run["steps"]],
                "searches": [step["argument"] for step in run["steps"] if step["tool"] == "search_course"],
                "ms": round(sum(step["ms"] for step in run["steps"]), 1),
                "found_page": any(page_match(q, Retrieved(c["source"], c["heading"])) for c in run["citations"]),
            }
        )
    return runs


def summarise(mode: str, runs: list[dict]) -> dict:
    steps = [tool for run in runs for tool in run["tools"]]
    return {
        "mode": mode,
        "description": MODES[mode],
        "runs": len(runs),
        "answered": sum(run["finished"] == "answered" for run in runs),
        "steps": len(steps),
        "valid_steps": sum(tool != "invalid" for tool in steps),
        "searches_per_run": round(sum(tool == "search_course" for tool in steps) / len(runs), 2),
        "found_page": sum(run["found_page"] for run in runs),
        "median_run_ms": round(statistics.median(run["ms"] for run in runs), 1),
        "details": runs,
    }


def run_agent(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    evaluation = load_evaluation_set(EVALUATION_SET)
    questions = evaluation.questions[: max(2, int(10 * scale))]
    rows = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(
            Path(tmp), report=report, backend="llama.cpp", service_env={"RAG_AGENT_SEARCH_K": str(SEARCH_K)}
        ) as stack,
    ):
        baseline = sum(
            any(
                page_match(q, Retrieved(hit["source"], hit["heading"]))
                for hit in httpx.get(
                    f"{stack.url}/v1/search", params={"q": q.question, "k": SEARCH_K}, timeout=60
                ).json()["results"]
            )
            for q in questions
        )
        for mode in MODES:
            stack.stop_service()
            stack.service_env = {"RAG_AGENT_SEARCH_K": str(SEARCH_K), "RAG_LLM_STRUCTURED_OUTPUT": mode}
            stack.start_service()
            rows.append(summarise(mode, agent_runs(stack.url, questions, report, mode)))
    result = {
        "benchmark": "rag/agent",
        "machine": machine(),
        "llm": "SmolLM2-135M-Instruct (llama.cpp, Q4_1)",
        "questions": len(questions),
        "max_steps": MAX_STEPS,
        "search_k": SEARCH_K,
        "baseline_found_page": baseline,
        "modes": rows,
    }
    paths = [out / "agent.json", out / "agent.md"]
    paths[0].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(agent_table(result))
    return paths


def agent_table(result: dict) -> str:
    host, n = result["machine"], result["questions"]
    lines = [
        f"llama.cpp on CPU, SmolLM2-135M-Instruct, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench rag --only agent`; {n} questions of the evaluation set, at most "
        f"{result['max_steps']} steps, {result['search_k']} chunks per search.",
        "",
        "| steps | answered | valid steps | searches per run | searches found the answering page | median run ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["modes"]:
        lines.append(
            f"| {row['description']} | {row['answered']} of {row['runs']} | {row['valid_steps']} of "
            f"{row['steps']} | {row['searches_per_run']} | {row['found_page']} of {row['runs']} | "
            f"{row['median_run_ms']} |"
        )
    lines += [
        "",
        f"Baseline, the question itself as the search (as `/v1/ask` does), {result['search_k']} chunks: "
        f"the answering page found for {result['baseline_found_page']} of {n} questions.",
    ]
    constrained = result["modes"][0]["details"]
    if constrained:
        lines += ["", "What the model searched for, constrained (first questions):", ""]
        lines += [
            f"- *{run['question']}* → " + (", ".join(f"`{shown(s)}`" for s in run["searches"]) or "no search")
            for run in constrained[:4]
        ]
    return "\n".join(lines) + "\n"


def shown(search: str, chars: int = 60) -> str:
    """A search as one short line of a table: the model's words can hold line breaks and backticks."""
    flat = " ".join(search.split()).replace("`", "'")
    return flat if len(flat) <= chars else flat[:chars] + " …"
