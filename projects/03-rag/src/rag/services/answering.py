"""Answering: embed the question, retrieve chunks, and either quote the sentences that answer it
(extractive, the default), generate a cited answer (a capable model), say the course does not cover
it, or (LLM or embedding model down) fall back to the retrieved sections alone."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field

import numpy as np
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from rag import metrics
from rag.embedding_client import EmbeddingClient, EmbeddingUnavailable
from rag.llm_client import LLMClient, LLMUnavailable
from rag.services.faithful import LinkGuard, best_quotes, extractive_answer, prose_sentences
from rag.vector_store import Hit, VectorStore

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You answer questions about a course on production AI inference, using only the "
    "numbered sources you are given. Cite the sources you use by number, like [1]. "
    "If the sources do not answer the question, say so. Be brief."
)
NOT_COVERED = "The course does not cover this question, so I will not guess an answer."
RETRIEVAL_ONLY = (
    "The language model is unavailable right now, so here are the course sections that match your question best."
)
EMBEDDING_DOWN = (
    "The embedding model is unavailable right now, so here are the course sections that match your question best."
)
NO_QUOTE = "These course sections match the question, but no single sentence of them answers it: read them."
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
    vector: np.ndarray | None = None  # the question's embedding

    def citations(self) -> list[Citation]:
        return [
            Citation(
                n,
                h.chunk.source,
                h.chunk.heading,
                h.chunk.url,
                h.chunk.chapter,
                round(h.score, 4),
                snippet(h.chunk.text),
            )
            for n, h in enumerate(self.hits, start=1)
        ]


def snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


# --8<-- [start:prompt]
def build_messages(question: str, hits: list[Hit]) -> list[dict]:
    """Numbered sources first, then the question: the model cites by number, the service maps the
    numbers back to pages."""
    sources = "\n\n".join(f"[{n}] {hit.chunk.heading}\n{hit.chunk.text}" for n, hit in enumerate(hits, start=1))
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Sources:\n\n{sources}\n\nQuestion: {question}"},
    ]


# --8<-- [end:prompt]


class Answerer:
    def __init__(
        self,
        embedder: EmbeddingClient,
        store: VectorStore,
        llm: LLMClient,
        min_relevance: float,
        max_tokens: int,
        tracer: trace.Tracer | None = None,
        quotes: int = 3,
        quote_min_score: float = 0.3,
    ):
        self.embedder, self.store, self.llm = embedder, store, llm
        self.min_relevance, self.max_tokens = min_relevance, max_tokens
        self.quotes, self.quote_min_score = quotes, quote_min_score
        self.tracer = tracer or trace.NoOpTracer()

    # --8<-- [start:retrieve]
    async def retrieve(self, question: str, k: int, chapter: str | None = None) -> Retrieval:
        """Embedding on Triton, then nearest chunks in Milvus. Raises if either is down (-> 503).
        Each stage is a span: a failure is recorded on the span of the stage that failed."""
        started = time.perf_counter()
        with self.tracer.start_as_current_span("embed question") as span:
            span.set_attributes({"rag.question_chars": len(question), "rag.embedding_model": self.embedder.model})
            vector = (await self.embedder.embed([question]))[0]
        embedded = time.perf_counter()
        with self.tracer.start_as_current_span("search chunks") as span:
            span.set_attributes(
                {
                    "db.system": "milvus",
                    "db.collection.name": self.store.collection,
                    "rag.k": k,
                    "rag.chapter": chapter or "",
                }
            )
            hits = await self.store.search(vector, k, chapter)
            span.set_attributes({"rag.hits": len(hits), "rag.best_score": hits[0].score if hits else 0.0})
        searched = time.perf_counter()
        metrics.STAGE_SECONDS.labels("embed").observe(embedded - started)
        metrics.STAGE_SECONDS.labels("search").observe(searched - embedded)
        if hits:
            metrics.TOP_SCORE.observe(hits[0].score)
        timings = {"embed": ms(embedded - started), "search": ms(searched - embedded)}
        return Retrieval(question, hits, timings, vector)

    # --8<-- [end:retrieve]

    def covered(self, retrieval: Retrieval) -> bool:
        return bool(retrieval.hits) and retrieval.hits[0].score >= self.min_relevance

    # --8<-- [start:answer]
    async def answer(self, retrieval: Retrieval, mode: str = "extractive") -> AsyncIterator[Event]:
        """citations, then the answer's tokens, then done (with the mode and stage timings).
        ``mode``: "extractive" quotes the course, "generative" asks the LLM."""
        if not self.covered(retrieval):
            metrics.ANSWERS.labels("not_covered").inc()
            trace.get_current_span().set_attribute("rag.mode", "not_covered")
            yield Event("citations", {"citations": []})
            yield Event("token", {"text": NOT_COVERED})
            yield Event("done", {"mode": "not_covered", "timings_ms": retrieval.timings_ms})
            return
        citations = retrieval.citations()
        yield Event("citations", {"citations": [asdict(c) for c in citations]})
        if mode == "extractive":
            async for event in self.extract(retrieval):
                yield event
            return
        links = LinkGuard({c.url for c in citations if c.url})  # no link but the citations' pages
        # Started, not made current: this generator is suspended at every yield, so the span is passed
        # around explicitly and ended in `finally`, whether the stream completes, fails or is abandoned.
        span = self.tracer.start_span(
            "generate answer",
            attributes={"gen_ai.request.model": self.llm.model, "gen_ai.request.max_tokens": self.max_tokens},
        )
        started, produced = time.perf_counter(), 0
        try:
            async for delta in self.llm.stream(build_messages(retrieval.question, retrieval.hits), self.max_tokens):
                if delta.text:
                    if produced == 0:
                        retrieval.timings_ms["first_token"] = ms(time.perf_counter() - started)
                        span.add_event("first token")
                    produced += 1
                    if text := links.feed(delta.text):
                        yield Event("token", {"text": text})
            if text := links.flush():
                yield Event("token", {"text": text})
            span.set_attributes({"rag.mode": "generated", "rag.links_removed": links.removed})
        except LLMUnavailable as exc:
            # The sources are still worth having: answer with them, and say that is what happened.
            log.warning("LLM unavailable, answering with retrieval only: %s", exc)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "LLM unavailable"))
            span.set_attribute("rag.mode", "retrieval_only")
            metrics.ANSWERS.labels("retrieval_only").inc()
            if produced == 0:
                yield Event("token", {"text": RETRIEVAL_ONLY})
            yield Event(
                "done",
                {
                    "mode": "retrieval_only",
                    "timings_ms": retrieval.timings_ms,
                    "detail": "the LLM server is unavailable",
                },
            )
            return
        finally:
            span.set_attribute("rag.tokens", produced)
            span.end()
        retrieval.timings_ms["generate"] = ms(time.perf_counter() - started)
        metrics.STAGE_SECONDS.labels("generate").observe(time.perf_counter() - started)
        metrics.ANSWERS.labels("generated").inc()
        yield Event("done", {"mode": "generated", "timings_ms": retrieval.timings_ms, "tokens": produced})

    # --8<-- [end:answer]

    # --8<-- [start:extractive]
    async def extract(self, retrieval: Retrieval) -> AsyncIterator[Event]:
        """The retrieved chunks' sentences closest to the question, quoted with their [n]."""
        started = time.perf_counter()
        sentences = [(n, s) for n, hit in enumerate(retrieval.hits, start=1) for s in prose_sentences(hit.chunk.text)]
        with self.tracer.start_as_current_span("extract answer") as span:
            span.set_attribute("rag.sentences", len(sentences))
            try:
                vectors = await self.embedder.embed([s for _, s in sentences]) if sentences else np.empty((0, 1))
            except EmbeddingUnavailable as exc:  # Triton went away after the search: the sources remain
                span.record_exception(exc)
                span.set_attribute("rag.mode", "retrieval_only")
                metrics.ANSWERS.labels("retrieval_only").inc()
                yield Event("token", {"text": EMBEDDING_DOWN})
                yield Event(
                    "done",
                    {"mode": "retrieval_only", "timings_ms": retrieval.timings_ms, "detail": "embedding unavailable"},
                )
                return
            assert retrieval.vector is not None
            quotes = best_quotes(retrieval.vector, sentences, vectors, self.quotes, self.quote_min_score)
            span.set_attributes({"rag.mode": "extracted", "rag.quotes": len(quotes)})
        retrieval.timings_ms["extract"] = ms(time.perf_counter() - started)
        metrics.STAGE_SECONDS.labels("extract").observe(time.perf_counter() - started)
        metrics.ANSWERS.labels("extracted").inc()
        yield Event("token", {"text": extractive_answer(quotes) if quotes else NO_QUOTE})
        yield Event("done", {"mode": "extracted", "timings_ms": retrieval.timings_ms, "quotes": len(quotes)})

    # --8<-- [end:extractive]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
