"""Ingestion: document -> chunks -> vectors -> Milvus, idempotent by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rag import metrics
from rag.embedding_client import EmbeddingClient
from rag.services.chunking import Chunk, chunk_markdown
from rag.services.course_files import course_files
from rag.vector_store import StoredDocument, VectorStore

COURSE_PREFIXES = ("docs/", "projects/")  # what a course re-index owns; uploads/ is left alone


class EmptyDocument(ValueError):
    """The document holds no text to index."""


@dataclass
class IngestResult:
    source: str
    outcome: str  # "added", "replaced" or "unchanged"
    chunks: int


@dataclass
class CourseIndexReport:
    files: int = 0
    chunks: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {"added": 0, "replaced": 0, "unchanged": 0, "removed": 0})


class Ingestion:
    def __init__(self, embedder: EmbeddingClient, store: VectorStore, chunk_tokens: int, overlap_tokens: int):
        self.embedder, self.store = embedder, store
        self.chunk_tokens, self.overlap_tokens = chunk_tokens, overlap_tokens

    def chunk(self, text: str, source: str, chapter: str, url: str | None) -> list[Chunk]:
        return chunk_markdown(
            text, source, chapter, url, self.embedder.tokenizer, self.chunk_tokens, self.overlap_tokens
        )

    # --8<-- [start:ingest]
    async def ingest(
        self, source: str, text: str, chapter: str, url: str | None, stored: StoredDocument | None
    ) -> IngestResult:
        """Add or replace one document. The same content twice adds nothing: the content hash
        stored with its chunks says it is already there. The hash also covers how chunks are made
        (model, size, overlap), so changing those re-embeds everything on the next run."""
        recipe = f"{self.embedder.model}:{self.chunk_tokens}:{self.overlap_tokens}"
        doc_hash = hashlib.sha256(f"{recipe}\0{text}".encode()).hexdigest()
        if stored is not None and stored.doc_hash == doc_hash:
            metrics.DOCUMENTS_INGESTED.labels("unchanged").inc()
            return IngestResult(source, "unchanged", stored.chunks)
        chunks = self.chunk(text, source, chapter, url)
        if not chunks:
            raise EmptyDocument(f"{source} holds no text to index")
        vectors = await self.embedder.embed([chunk.embedding_text for chunk in chunks])
        await self.store.replace_document(source, doc_hash, chunks, vectors)
        outcome = "added" if stored is None else "replaced"
        metrics.DOCUMENTS_INGESTED.labels(outcome).inc()
        metrics.CHUNKS_EMBEDDED.inc(len(chunks))
        return IngestResult(source, outcome, len(chunks))

    # --8<-- [end:ingest]

    async def index_course(self, root: Path, site_url: str) -> CourseIndexReport:
        """Bring the index in line with the course files: new and changed files are (re)embedded,
        unchanged ones skipped, and chunks of files that no longer exist are deleted."""
        report = CourseIndexReport()
        stored = await self.store.documents()
        present = set()
        for file in course_files(root, site_url):
            text = file.path.read_text(encoding="utf-8")
            try:
                result = await self.ingest(file.source, text, file.chapter, file.url, stored.get(file.source))
            except EmptyDocument:
                continue  # nothing to index: any chunks it had are removed below
            present.add(file.source)
            report.files += 1
            report.chunks += result.chunks
            report.outcomes[result.outcome] += 1
        for source in stored:
            if source.startswith(COURSE_PREFIXES) and source not in present:
                await self.store.delete_document(source)
                report.outcomes["removed"] += 1
        return report
