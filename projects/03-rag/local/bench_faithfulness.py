"""Project 03, part ``faithfulness``: how much of an answer the passages it cites support, for the
extractive answer (the default) and the generated one, on questions of the evaluation set.

A sentence is judged supported when some sentence of a cited section is close to it (cosine
similarity of their all-MiniLM-L6-v2 embeddings at least SIMILARITY) and the section uses most of
its content words (at least COVERAGE). The judge is itself measured first, against hand-labelled
sentences (evaluation/faithfulness-labels.yaml): a faithfulness figure is only as good as the
agreement of its judge, and this one cannot tell a claim from its contradiction."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from rag.embedding_client import EmbeddingClient
from rag.evaluation import load_evaluation_set
from rag.services.answering import NO_QUOTE
from rag.services.chunking import sections
from rag.services.faithful import answer_sentences, best_similarity, prose_sentences, word_coverage
from study.bench.load import machine
from study.paths import REPO_ROOT

from .stack import EVALUATION_SET, MODEL_NAME, ensure_model, running_stack

LABELS = EVALUATION_SET.with_name("faithfulness-labels.yaml")
# --8<-- [start:threshold]
SIMILARITY = 0.65  # both chosen on the hand labels; the judge's agreement with them is published
COVERAGE = 0.6
# --8<-- [end:threshold]
MODES = {"extractive": "extracted", "generative": "generated"}
CITED = re.compile(r"\[(\d+(?:,\s*\d+)*)\]")


def section_sentences(source: str, heading: str) -> list[str]:
    """The prose sentences of the section a citation names, read from the course file."""
    bodies = [s.body for s in sections((REPO_ROOT / source).read_text()) if " > ".join(s.titles) == heading]
    if not bodies:
        raise LookupError(f"{source} has no section {heading!r}")
    return [sentence for body in bodies for sentence in prose_sentences(body)]


def cited_sections(answer: dict) -> list[dict]:
    """The citations the answer cites by number; all it was given when it cites none."""
    numbers = {int(n) for group in CITED.findall(answer["answer"]) for n in group.split(",")}
    cited = [c for c in answer["citations"] if c["number"] in numbers]
    return cited or answer["citations"]


class Judge:
    """Embeds with the same model the service retrieves with (on the stack's Triton)."""

    def __init__(self, embedder: EmbeddingClient):
        self.embedder = embedder

    async def scores(self, sentences: list[str], passages: list[str]) -> list[tuple[float, float]]:
        """(similarity to the closest passage sentence, word coverage by the passages) per sentence."""
        if not sentences:
            return []
        vectors = await self.embedder.embed(sentences + passages)
        similarity = best_similarity(vectors[: len(sentences)], vectors[len(sentences) :])
        return [(float(sim), word_coverage(s, passages)) for s, sim in zip(sentences, similarity, strict=True)]

    async def judge(self, answer: dict) -> dict:
        # "No sentence answers it, read the sources" claims nothing about the course: nothing to judge.
        sentences = [] if answer["answer"] == NO_QUOTE else answer_sentences(answer["answer"])
        passages = [s for c in cited_sections(answer) for s in section_sentences(c["source"], c["heading"])]
        scores = await self.scores(sentences, passages)
        flags = [supported(*score) for score in scores]
        return {
            "sentences": len(sentences),
            "supported": sum(flags),
            "share": round(sum(flags) / len(sentences), 3) if sentences else None,
            "scores": [[round(sim, 3), round(cov, 3)] for sim, cov in scores],
        }


def supported(similarity: float, coverage: float) -> bool:
    return similarity >= SIMILARITY and coverage >= COVERAGE


async def validate(judge: Judge, labels: list[dict]) -> dict:
    """The judge against hand labels: agreement, and how it errs."""
    rows = []
    for label in labels:
        [score] = await judge.scores([label["sentence"]], section_sentences(label["source"], label["heading"]))
        rows.append((label["supported"], supported(*score)))
    return {
        "labelled_sentences": len(rows),
        "labelled_supported": sum(truth for truth, _ in rows),
        "agreement": round(sum(truth == said for truth, said in rows) / len(rows), 3),
        "false_supported": sum(said and not truth for truth, said in rows),
        "false_unsupported": sum(truth and not said for truth, said in rows),
    }


def ask(url: str, question: str, mode: str) -> dict:
    response = httpx.post(f"{url}/v1/ask", json={"question": question, "stream": False, "mode": mode}, timeout=300)
    response.raise_for_status()
    return response.json()


async def measure(stack, questions: list[str], report: Callable[[str], None]) -> tuple[dict, list[dict], dict]:
    embedder = EmbeddingClient(stack.triton.grpc_url, MODEL_NAME, str(ensure_model().with_name("tokenizer.json")), 30.0)
    judge = Judge(embedder)
    try:
        validation = await validate(judge, yaml.safe_load(LABELS.read_text())["sentences"])
        answers = []
        for i, question in enumerate(questions, start=1):
            report(f"faithfulness: question {i} of {len(questions)}")
            for mode in MODES:
                answer = ask(stack.url, question, mode)
                judged = await judge.judge(answer) if answer["mode"] == MODES[mode] else None
                answers.append(
                    {
                        "question": question,
                        "mode": mode,
                        "answered_as": answer["mode"],
                        # The text itself is not kept: a small model's output can hold anything
                        # (invented file paths among it); the judged scores are what is published.
                        "links_removed": answer["answer"].count("(link removed"),
                        "ms": round(sum(answer["timings_ms"].values()), 1),
                        "judged": judged,
                    }
                )
    finally:
        await embedder.close()
    return validation, answers, summarise(answers)


def summarise(answers: list[dict]) -> dict:
    out = {}
    for mode, answered_as in MODES.items():
        judged = [a["judged"] for a in answers if a["mode"] == mode and a["answered_as"] == answered_as]
        sentences = sum(j["sentences"] for j in judged)
        out[mode] = {
            "answers": len(judged),
            "answers_with_sentences": sum(j["sentences"] > 0 for j in judged),
            "sentences": sentences,
            "supported_share": round(sum(j["supported"] for j in judged) / sentences, 3) if sentences else None,
            "answers_fully_supported": sum(j["sentences"] > 0 and j["supported"] == j["sentences"] for j in judged),
            "links_removed": sum(a["links_removed"] for a in answers if a["mode"] == mode),
            "median_ms": round(statistics.median(a["ms"] for a in answers if a["mode"] == mode), 1),
        }
    return out


def run_faithfulness(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    evaluation = load_evaluation_set(EVALUATION_SET)
    questions = [q.question for q in evaluation.questions][:: max(1, round(1 / max(scale, 0.01) * 2))]
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), report=report) as stack:
        validation, answers, summary = asyncio.run(measure(stack, questions, report))
    result = {
        "benchmark": "rag faithfulness",
        "machine": machine(),
        "llm": "SmolLM2-135M-Instruct (llama.cpp, Q4_1)",
        "judge": {"similarity": SIMILARITY, "coverage": COVERAGE},
        "questions": len(questions),
        "validation": validation,
        "modes": summary,
        "answers": answers,
    }
    paths = [out / "faithfulness.json", out / "faithfulness.md"]
    paths[0].write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(table(result))
    return paths


def table(result: dict) -> str:
    host, v = result["machine"], result["validation"]
    lines = [
        f"{result['llm']} on CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench rag --only faithfulness`; {result['questions']} questions of the evaluation set.",
        "",
        f"The judge (supported: a sentence of a cited section at cosine similarity ≥ {result['judge']['similarity']}, "
        f"and ≥ {result['judge']['coverage']} of the sentence's content words used by the section) against "
        f"{v['labelled_sentences']} hand-labelled sentences ({v['labelled_supported']} supported): agreement "
        f"{v['agreement']}, {v['false_supported']} called supported wrongly, {v['false_unsupported']} called "
        "unsupported wrongly.",
        "",
        "| answer mode | answers | sentences | supported by the cited sections | answers fully supported "
        "| links removed | median ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, m in result["modes"].items():
        lines.append(
            f"| {mode} | {m['answers']} | {m['sentences']} | {m['supported_share']} | "
            f"{m['answers_fully_supported']} of {m['answers_with_sentences']} | {m['links_removed']} | "
            f"{m['median_ms']} |"
        )
    return "\n".join(lines) + "\n"
