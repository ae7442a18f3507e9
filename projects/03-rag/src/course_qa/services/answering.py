"""Answering: embed the question, retrieve chunks, and either generate a cited answer, say the course
does not cover it, or (LLM down) fall back to the retrieved sections alone."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field

from course_qa import metrics
from course_qa.embedding_client import EmbeddingClient
from course_qa.llm_client import LLMClient, LLMUnavailable
from course_qa.vector_store import Hit, VectorStore

log = logging.getLogger(__name__)

SYSTEM_PROMPT = ("You answer questions about a course on production AI inference, using only the "
                 "numbered sources you are given. Cite the sources you use by number, like [1]. "
                 "If the sources do not answer the question, say so. Be brief.")
NOT_COVERED = "The course does not cover this question, so I will not guess an answer."
RETRIEVAL_ONLY = ("The language model is unavailable right now, so here are the course sections that "
                  "match your question best.")
SNIPPET_CHARS = 280


@dataclass
class Citation:
    number: int
    source: str
    heading: str
    url: str | None
    chapter: str
    score: float
    snippet: str


@dataclass
class Event:
    kind: str  # "citations", "token", "done"
    data: dict


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def citations(self) -> list[Citation]:
        return [Citation(n, h.chunk.source, h.chunk.heading, h.chunk.url, h.chunk.chapter, round(h.score, 4),
                         snippet(h.chunk.text)) for n, h in enumerate(self.hits, start=1)]


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


# --8<-- [start:prompt]
def build_messages(question: str, hits: list[Hit]) -> list[dict]:
    """Numbered sources first, then the question: the model cites by number, the service maps the
    numbers back to pages."""
    sources = "\n\n".join(f"[{n}] {hit.chunk.heading}\n{hit.chunk.text}" for n, hit in enumerate(hits, start=1))
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Sources:\n\n{sources}\n\nQuestion: {question}"}]
# --8<-- [end:prompt]


class Answerer:
    def __init__(self, embedder: EmbeddingClient, store: VectorStore, llm: LLMClient,
                 min_relevance: float, max_tokens: int):
        self.embedder, self.store, self.llm = embedder, store, llm
        self.min_relevance, self.max_tokens = min_relevance, max_tokens

    # --8<-- [start:retrieve]
    async def retrieve(self, question: str, k: int, chapter: str | None = None) -> Retrieval:
        """Embedding on Triton, then nearest chunks in Milvus. Raises if either is down (-> 503)."""
        started = time.perf_counter()
        vector = (await self.embedder.embed([question]))[0]
        embedded = time.perf_counter()
        hits = await self.store.search(vector, k, chapter)
        searched = time.perf_counter()
        metrics.STAGE_SECONDS.labels("embed").observe(embedded - started)
        metrics.STAGE_SECONDS.labels("search").observe(searched - embedded)
        if hits:
            metrics.TOP_SCORE.observe(hits[0].score)
        return Retrieval(question, hits, {"embed": ms(embedded - started), "search": ms(searched - embedded)})
    # --8<-- [end:retrieve]

    def covered(self, retrieval: Retrieval) -> bool:
        return bool(retrieval.hits) and retrieval.hits[0].score >= self.min_relevance

    # --8<-- [start:answer]
    async def answer(self, retrieval: Retrieval) -> AsyncIterator[Event]:
        """citations, then the answer's tokens, then done (with the mode and stage timings)."""
        if not self.covered(retrieval):
            metrics.ANSWERS.labels("not_covered").inc()
            yield Event("citations", {"citations": []})
            yield Event("token", {"text": NOT_COVERED})
            yield Event("done", {"mode": "not_covered", "timings_ms": retrieval.timings_ms})
            return
        yield Event("citations", {"citations": [asdict(c) for c in retrieval.citations()]})
        started, produced = time.perf_counter(), 0
        try:
            async for delta in self.llm.stream(build_messages(retrieval.question, retrieval.hits),
                                               self.max_tokens):
                if delta.text:
                    if produced == 0:
                        retrieval.timings_ms["first_token"] = ms(time.perf_counter() - started)
                    produced += 1
                    yield Event("token", {"text": delta.text})
        except LLMUnavailable as exc:
            # The sources are still worth having: answer with them, and say that is what happened.
            log.warning("LLM unavailable, answering with retrieval only: %s", exc)
            metrics.ANSWERS.labels("retrieval_only").inc()
            if produced == 0:
                yield Event("token", {"text": RETRIEVAL_ONLY})
            yield Event("done", {"mode": "retrieval_only", "timings_ms": retrieval.timings_ms,
                                 "detail": "the LLM server is unavailable"})
            return
        retrieval.timings_ms["generate"] = ms(time.perf_counter() - started)
        metrics.STAGE_SECONDS.labels("generate").observe(time.perf_counter() - started)
        metrics.ANSWERS.labels("generated").inc()
        yield Event("done", {"mode": "generated", "timings_ms": retrieval.timings_ms, "tokens": produced})
    # --8<-- [end:answer]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
