"""Chunks and their vectors in Milvus: one collection, searched by cosine with metadata filters.

pymilvus' synchronous ``MilvusClient`` is used from worker threads: its asyncio client waits on
index creation through an RPC that Milvus Lite does not implement, and one code path for Milvus
Lite (local) and Milvus standalone (compose) matters more than saving a thread hop.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass

from pymilvus import DataType, MilvusClient, MilvusException

from rag.embedding_client import DIMENSIONS
from rag.services.chunking import Chunk

# pymilvus pings an idle connection every 10 s; gRPC servers with default settings (Milvus Lite's)
# answer that with GOAWAY "too_many_pings" and drop the connection. Ping only during calls.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 60_000, "grpc.keepalive_permit_without_calls": False}
TEXT_FIELDS = ["source", "chapter", "heading", "anchor", "url", "chunk_index", "text", "doc_hash"]


class VectorStoreUnavailable(RuntimeError):
    """Milvus cannot be reached or failed the call."""


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity, -1..1


@dataclass(frozen=True)
class StoredDocument:
    source: str
    doc_hash: str
    chunks: int


def quoted(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class VectorStore:
    def __init__(self, uri: str, collection: str, timeout_s: float):
        self.uri, self.collection, self.timeout_s = uri, collection, timeout_s
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    async def _run(self, operation, *args, **kwargs):
        return await asyncio.to_thread(self._call, operation, *args, **kwargs)

    def _call(self, operation, *args, **kwargs):
        try:
            return operation(self._connected(), *args, **kwargs)
        except (MilvusException, ConnectionError, OSError) as exc:
            with self._lock:
                self._client = None  # reconnect on the next call
            raise VectorStoreUnavailable(str(exc)) from exc

    def _connected(self) -> MilvusClient:
        with self._lock:
            if self._client is None:
                client = MilvusClient(uri=self.uri, timeout=self.timeout_s, grpc_options=GRPC_OPTIONS)
                self._ensure_collection(client)
                self._client = client
            return self._client

    def _ensure_collection(self, client: MilvusClient) -> None:
        if client.has_collection(self.collection, timeout=self.timeout_s):
            # After a restart of Milvus the collection exists but is released: load it to search.
            client.load_collection(self.collection, timeout=self.timeout_s)
            return
        schema = MilvusClient.create_schema(auto_id=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIMENSIONS)
        for name, length in (
            ("source", 512),
            ("chapter", 64),
            ("heading", 1024),
            ("anchor", 256),
            ("url", 1024),
            ("text", 65535),
            ("doc_hash", 64),
        ):
            schema.add_field(name, DataType.VARCHAR, max_length=length)
        schema.add_field("chunk_index", DataType.INT64)
        index = MilvusClient.prepare_index_params()
        # Exact search: a course is thousands of chunks, not millions; an approximate index
        # (HNSW, IVF) would trade recall for speed this corpus does not need.
        index.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
        client.create_collection(
            self.collection, schema=schema, index_params=index, consistency_level="Strong", timeout=self.timeout_s
        )

    async def ping(self) -> bool:
        try:
            await self._run(lambda c: c.has_collection(self.collection, timeout=2.0))
            return True
        except VectorStoreUnavailable:
            return False

    # --8<-- [start:search]
    async def search(self, vector, k: int, chapter: str | None = None) -> list[Hit]:
        """The k chunks closest to ``vector``; ``chapter`` restricts the search to one chapter."""
        rows = await self._run(
            lambda c: c.search(
                self.collection,
                data=[vector.tolist()],
                limit=k,
                output_fields=TEXT_FIELDS,
                filter=f"chapter == {quoted(chapter)}" if chapter else "",
                search_params={"metric_type": "COSINE"},
                timeout=self.timeout_s,
            )
        )
        return [Hit(to_chunk(row["entity"]), float(row["distance"])) for row in rows[0]]

    # --8<-- [end:search]

    async def documents(self) -> dict[str, StoredDocument]:
        rows = await self._run(
            lambda c: c.query(
                self.collection,
                filter='source != ""',
                limit=16384,
                output_fields=["source", "doc_hash"],
                timeout=self.timeout_s,
            )
        )
        found: dict[str, StoredDocument] = {}
        for row in rows:
            seen = found.get(row["source"])
            found[row["source"]] = StoredDocument(row["source"], row["doc_hash"], (seen.chunks if seen else 0) + 1)
        return found

    async def replace_document(self, source: str, doc_hash: str, chunks: list[Chunk], vectors) -> None:
        """Insert the new version first, then delete the old one: a reader never sees the document
        missing, and a crash in between leaves a duplicate that the next ingestion removes."""
        rows = [
            {
                "id": chunk_id(source, doc_hash, chunk.index),
                "vector": vector.tolist(),
                "source": source,
                "chapter": chunk.chapter,
                "heading": chunk.heading[:1000],
                "anchor": chunk.anchor[:250],
                "url": chunk.url or "",
                "text": chunk.text,
                "doc_hash": doc_hash,
                "chunk_index": chunk.index,
            }
            for chunk, vector in zip(chunks, vectors, strict=False)
        ]
        if rows:
            await self._run(lambda c: c.upsert(self.collection, rows, timeout=self.timeout_s))
        await self._run(
            lambda c: c.delete(
                self.collection,
                filter=f"source == {quoted(source)} and doc_hash != {quoted(doc_hash)}",
                timeout=self.timeout_s,
            )
        )

    async def delete_document(self, source: str) -> None:
        await self._run(
            lambda c: c.delete(self.collection, filter=f"source == {quoted(source)}", timeout=self.timeout_s)
        )

    async def drop(self) -> None:
        """Delete the whole collection (benchmarks and tests use throwaway ones)."""
        await self._run(lambda c: c.drop_collection(self.collection, timeout=self.timeout_s))

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def chunk_id(source: str, doc_hash: str, index: int) -> str:
    return hashlib.sha256(f"{source}\0{doc_hash}\0{index}".encode()).hexdigest()[:32]


def to_chunk(entity: dict) -> Chunk:
    return Chunk(
        source=entity["source"],
        chapter=entity["chapter"],
        heading=entity["heading"],
        anchor=entity["anchor"],
        url=entity["url"] or None,
        index=int(entity["chunk_index"]),
        text=entity["text"],
    )
