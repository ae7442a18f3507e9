"""Benchmark of project 03, in one run on one machine: retrieval quality over the evaluation set
(recall@1, recall@5, MRR, by page and by section), where the time of an answer goes (embed,
search, first token, generation), and ingestion throughput with embeddings sent one at a time
versus in batches of 32: the ``pipeline`` part. The ``agent`` part (its own module) runs the
agent over the same questions."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rag.embedding_client import EmbeddingClient
from rag.evaluation import Retrieved, first_rank, load_evaluation_set, page_match, retrieval_scores, section_match
from rag.services.course_files import course_files
from rag.services.ingestion import Ingestion
from rag.settings import Settings
from rag.vector_store import VectorStore
from study.bench.load import machine
from study.bench.parts import run_parts
from study.paths import DOCS_DIR, REPO_ROOT

from .bench_agent import run_agent
from .bench_faithfulness import run_faithfulness
from .stack import EVALUATION_SET, MODEL_NAME, ensure_model, running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / Path(__file__).resolve().parents[1].name / "results"
EXAMPLE_QUESTION = "Why does the service share one Triton client between requests?"
STAGES = ("embed", "search", "first_token", "generate")


def evaluate_retrieval(url: str, report: Callable[[str], None]) -> dict:
    evaluation = load_evaluation_set(EVALUATION_SET)
    page_ranks, section_ranks, on_topic_top = [], [], []
    with httpx.Client(base_url=url, timeout=60) as client:
        for question in evaluation.questions:
            results = client.get("/v1/search", params={"q": question.question, "k": 5}).json()["results"]
            hits = [Retrieved(r["source"], r["heading"]) for r in results]
            page_ranks.append(first_rank(question, hits, page_match))
            section_ranks.append(first_rank(question, hits, section_match))
            on_topic_top.append(results[0]["score"])
        off_topic_top = [
            client.get("/v1/search", params={"q": q, "k": 1}).json()["results"][0]["score"]
            for q in evaluation.off_topic
        ]
    threshold = Settings.model_fields["min_relevance"].default
    report(f"retrieval: {len(evaluation.questions)} questions, {len(evaluation.off_topic)} off-topic")
    return {
        "questions": len(evaluation.questions),
        "off_topic_questions": len(evaluation.off_topic),
        "by_page": {k: round(v, 3) for k, v in retrieval_scores(page_ranks).items()},
        "by_section": {k: round(v, 3) for k, v in retrieval_scores(section_ranks).items()},
        "missed_by_page": [q.question for q, r in zip(evaluation.questions, page_ranks, strict=False) if r is None],
        "relevance_threshold": threshold,
        "on_topic_top_score": {"min": min(on_topic_top), "p50": round(float(np.median(on_topic_top)), 3)},
        "off_topic_top_score": {"max": max(off_topic_top), "p50": round(float(np.median(off_topic_top)), 3)},
        "on_topic_above_threshold": round(sum(s >= threshold for s in on_topic_top) / len(on_topic_top), 3),
        "off_topic_below_threshold": round(sum(s < threshold for s in off_topic_top) / len(off_topic_top), 3),
    }


def answer_stages(url: str, questions: list[str], report: Callable[[str], None]) -> dict:
    timings: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    modes: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=300) as client:
        # Generated answers: the stages of a generation are what this measures.
        client.post("/v1/ask", json={"question": questions[0], "stream": False, "mode": "generative"})  # warm-up
        for question in questions:
            started = time.perf_counter()
            body = client.post("/v1/ask", json={"question": question, "stream": False, "mode": "generative"}).json()
            timings["total"].append((time.perf_counter() - started) * 1000)
            modes[body["mode"]] = modes.get(body["mode"], 0) + 1
            for stage in STAGES:
                if stage in body["timings_ms"]:
                    timings[stage].append(body["timings_ms"][stage])
    report(f"answers: {len(questions)} questions")
    return {
        "answers": len(questions),
        "modes": modes,
        "stages_ms": {
            stage: {"p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1)}
            for stage, v in timings.items()
            if v
        },
    }


async def ingest_course(stack, batch: int, files: list) -> dict:
    """Chunk, embed and store the given course files into a fresh collection; chunks per second."""
    embedder = EmbeddingClient(
        stack.triton.grpc_url, MODEL_NAME, str(ensure_model().with_name("tokenizer.json")), 30.0, max_batch=batch
    )
    store = VectorStore(stack.milvus.uri, f"bench_{batch}_{uuid.uuid4().hex[:6]}", 30.0)
    settings = Settings(tokenizer_file="unused")
    ingestion = Ingestion(embedder, store, settings.chunk_tokens, settings.chunk_overlap_tokens)
    chunks = 0
    started = time.perf_counter()
    for file in files:
        result = await ingestion.ingest(file.source, file.path.read_text(), file.chapter, file.url, None)
        chunks += result.chunks
    elapsed = time.perf_counter() - started
    await store.drop()
    store.close()
    await embedder.close()
    return {
        "batch": batch,
        "files": len(files),
        "chunks": chunks,
        "seconds": round(elapsed, 2),
        "chunks_per_s": round(chunks / elapsed, 1),
    }


PARTS = ("pipeline", "agent", "faithfulness")


def run(
    out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print, only: str | None = None
) -> list[Path]:
    """Every part, or ``only`` the one named."""
    runners = (
        lambda to: run_pipeline(to, scale, report),
        lambda to: run_agent(to, scale, report),
        lambda to: run_faithfulness(to, scale, report),
    )
    return run_parts(dict(zip(PARTS, runners, strict=True)), out or DEFAULT_OUT, only)


def run_pipeline(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    evaluation = load_evaluation_set(EVALUATION_SET)
    questions = [q.question for q in evaluation.questions][: max(3, int(len(evaluation.questions) * scale))]
    files = [f for f in course_files(REPO_ROOT, "http://127.0.0.1:8100/") if f.path.read_text().strip()]
    files = files[: max(3, int(len(files) * scale))]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with running_stack(Path(tmp), report=report, index=False) as stack:
            startup_s = round(time.perf_counter() - started, 1)
            report("indexing the course through the API")
            started = time.perf_counter()
            first_index = stack.index_course()
            first_index["seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            again = stack.index_course()
            again["seconds"] = round(time.perf_counter() - started, 2)
            ingestion = []
            for batch in (1, 32):
                report(f"ingestion with embedding batches of {batch}")
                ingestion.append(asyncio.run(ingest_course(stack, batch, files)))
            retrieval = evaluate_retrieval(stack.url, report)
            answers = answer_stages(stack.url, questions, report)
            example = httpx.post(
                f"{stack.url}/v1/ask",
                timeout=300,
                json={"question": EXAMPLE_QUESTION, "stream": False, "k": 3, "mode": "generative"},
            ).json()
    result = {
        "benchmark": "rag",
        "machine": machine(),
        "models": {
            "embeddings": "all-MiniLM-L6-v2 (ONNX, Triton python backend on CPU)",
            "llm": "SmolLM2-135M-Instruct (llama.cpp, Q4_1)",
        },
        "startup_s": startup_s,
        "index_course": {"first": first_index, "unchanged": again},
        "ingestion": ingestion,
        "ratios": {
            "ingestion_batch32_over_batch1": round(ingestion[1]["chunks_per_s"] / ingestion[0]["chunks_per_s"], 2)
        },
        "retrieval": retrieval,
        "answers": answers,
    }
    paths = [out / "benchmark.json", out / "benchmark.png", out / "benchmark.md", out / "example-answer.json"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[3].write_text(json.dumps(example, indent=2, ensure_ascii=False) + "\n")
    chart(result, paths[1])
    paths[2].write_text(table(result))
    return paths


def chart(result: dict, path: Path) -> None:
    host = result["machine"]
    fig, (quality, stages, ingest) = plt.subplots(1, 3, figsize=(14, 4.2))
    metrics = ("recall@1", "recall@5", "mrr")
    x = np.arange(len(metrics))
    for offset, level in ((-0.2, "by_page"), (0.2, "by_section")):
        values = [result["retrieval"][level][m] for m in metrics]
        bars = quality.bar(x + offset, values, 0.4, label=level.replace("_", " "))
        quality.bar_label(bars, fmt="%.2f", fontsize=8)
    quality.set_xticks(x, metrics)
    quality.set_ylim(0, 1.1)
    quality.set_title(f"Retrieval, {result['retrieval']['questions']} questions")
    quality.legend(loc="upper left")
    found = [s for s in (*STAGES, "total") if s in result["answers"]["stages_ms"]]
    p50 = [result["answers"]["stages_ms"][s]["p50"] for s in found]
    p95 = [result["answers"]["stages_ms"][s]["p95"] for s in found]
    bars = stages.bar(found, p50, yerr=[np.zeros(len(found)), np.array(p95) - np.array(p50)], capsize=4)
    stages.bar_label(bars, fmt="%.0f", fontsize=8)
    stages.set_yscale("log")
    stages.set_title("Answer stages, p50 ms (bar) to p95 (whisker), log")
    labels = [f"batch {row['batch']}" for row in result["ingestion"]]
    bars = ingest.bar(labels, [row["chunks_per_s"] for row in result["ingestion"]], color=["#999", "#3f51b5"])
    ingest.bar_label(bars, fmt="%.1f", fontsize=8)
    ingest.set_title("Ingestion, chunks/s (chunk + embed + store)")
    for axis in (quality, stages, ingest):
        axis.grid(axis="y", alpha=0.3)
    fig.suptitle(f"Ask the course on CPU: {host['cpu']}, {host['cores']} cores, {host['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(result: dict) -> str:
    host, r = result["machine"], result["retrieval"]
    lines = [
        f"Local mode on CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, `study bench rag`; "
        f"{r['questions']} evaluation questions, {r['off_topic_questions']} off-topic ones.",
        "",
        "| retrieval (top 5) | recall@1 | recall@5 | MRR |",
        "|---|---:|---:|---:|",
    ]
    for level in ("by_page", "by_section"):
        scores = r[level]
        lines.append(f"| {level.replace('_', ' ')} | {scores['recall@1']} | {scores['recall@5']} | {scores['mrr']} |")
    lines += [
        "",
        f"| relevance threshold {r['relevance_threshold']} | lowest / median best score | share on the right side |",
        "|---|---:|---:|",
        f"| course questions | {r['on_topic_top_score']['min']} / {r['on_topic_top_score']['p50']} | "
        f"{r['on_topic_above_threshold']} above |",
        f"| off-topic questions | {r['off_topic_top_score']['max']} (highest) / "
        f"{r['off_topic_top_score']['p50']} | "
        f"{r['off_topic_below_threshold']} below |",
        "",
        "| answer stage | p50 ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for stage, v in result["answers"]["stages_ms"].items():
        lines.append(f"| {stage.replace('_', ' ')} | {v['p50']} | {v['p95']} |")
    first, again = result["index_course"]["first"], result["index_course"]["unchanged"]
    lines += ["", "| ingestion | files | chunks | seconds | chunks/s |", "|---|---:|---:|---:|---:|"]
    for row in result["ingestion"]:
        lines.append(
            f"| embeddings in batches of {row['batch']} | {row['files']} | {row['chunks']} | "
            f"{row['seconds']} | {row['chunks_per_s']} |"
        )
    lines.append(
        f"| whole course via `POST /v1/index/course` | {first['files']} | {first['chunks']} | "
        f"{first['seconds']} | {round(first['chunks'] / first['seconds'], 1)} |"
    )
    lines.append(f"| the same, nothing changed | {again['files']} | 0 new | {again['seconds']} | – |")
    lines += [
        "",
        f"Batches of 32 over batches of 1, same run: "
        f"{result['ratios']['ingestion_batch32_over_batch1']}× the chunks per second.",
    ]
    return "\n".join(lines) + "\n"
