"""Retrieval quality against a hand-written question set: recall@k and mean reciprocal rank.

A question is answered by one page and one section of it; a retrieved chunk matches by page when
its source is that page, and by section when its heading path also contains that section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Question:
    question: str
    source: str
    section: str
    also: tuple[str, ...] = ()  # other pages that answer it as fully


@dataclass(frozen=True)
class Retrieved:
    source: str
    heading: str


@dataclass(frozen=True)
class EvaluationSet:
    questions: list[Question]
    off_topic: list[str]


def load_evaluation_set(path: Path) -> EvaluationSet:
    data = yaml.safe_load(path.read_text())
    questions = [Question(**{**entry, "also": tuple(entry.get("also", ()))}) for entry in data["questions"]]
    return EvaluationSet(questions, list(data["off_topic"]))


def page_match(question: Question, hit: Retrieved) -> bool:
    return hit.source == question.source or hit.source in question.also


def section_match(question: Question, hit: Retrieved) -> bool:
    return hit.source == question.source and question.section in hit.heading.split(" > ")


# --8<-- [start:metrics]
def first_rank(question: Question, hits: list[Retrieved], match) -> int | None:
    """1-based position of the first matching chunk, None if none of the hits match."""
    return next((rank for rank, hit in enumerate(hits, start=1) if match(question, hit)), None)


def retrieval_scores(ranks: list[int | None], ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """recall@k: share of questions whose answer is in the top k; MRR: mean of 1/rank (0 if missed)."""
    scores = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in ks}
    scores["mrr"] = sum(1 / r for r in ranks if r is not None) / len(ranks)
    return scores


# --8<-- [end:metrics]
