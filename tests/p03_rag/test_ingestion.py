"""Uploaded documents and course re-indexing: idempotent by content hash, updates replace,
deletions remove, all against the real Triton and Milvus."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from study.local.rag.stack import ensure_model

from rag.embedding_client import EmbeddingClient
from rag.services.ingestion import Ingestion
from rag.vector_store import VectorStore

NOTE_V1 = """# Kitchen notes

## The zorbleflax rule

A zorbleflax is always served on a blue plate, never on a green one.
"""
NOTE_V2 = (
    NOTE_V1
    + """
## The quintessa exception

On Sundays the quintessa soup replaces the zorbleflax entirely.
"""
)


def upload(client: httpx.Client, name: str, text: str) -> httpx.Response:
    return client.post("/v1/documents", files={"file": (name, text.encode(), "text/markdown")})


def best(client: httpx.Client, question: str) -> dict:
    return client.get("/v1/search", params={"q": question, "k": 1}).json()["results"][0]


def test_upload_is_idempotent_updates_replace_and_delete_removes(client: httpx.Client):
    name = f"notes-{uuid.uuid4().hex[:8]}.md"
    first = upload(client, name, NOTE_V1)
    assert first.status_code == 201, first.text
    assert first.json() == {"source": f"uploads/{name}", "outcome": "added", "chunks": 1}
    hit = best(client, "On which plate is a zorbleflax served?")
    assert hit["source"] == f"uploads/{name}" and hit["chapter"] == "uploads"
    assert hit["heading"] == "Kitchen notes > The zorbleflax rule"

    again = upload(client, name, NOTE_V1)
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    listed = {d["source"]: d["chunks"] for d in client.get("/v1/documents").json()["documents"]}
    assert listed[f"uploads/{name}"] == 1, "the second upload added nothing"

    changed = upload(client, name, NOTE_V2)
    assert changed.status_code == 201
    assert changed.json() == {"source": f"uploads/{name}", "outcome": "replaced", "chunks": 2}
    listed = {d["source"]: d["chunks"] for d in client.get("/v1/documents").json()["documents"]}
    assert listed[f"uploads/{name}"] == 2, "the old version's chunks are gone"
    assert best(client, "What replaces the zorbleflax on Sundays?")["heading"].endswith("The quintessa exception")

    assert client.delete(f"/v1/documents/uploads/{name}").status_code == 204
    assert f"uploads/{name}" not in {d["source"] for d in client.get("/v1/documents").json()["documents"]}
    assert best(client, "On which plate is a zorbleflax served?")["source"] != f"uploads/{name}"
    assert client.delete(f"/v1/documents/uploads/{name}").status_code == 404


def test_course_reindex_of_an_unchanged_course_adds_nothing(client: httpx.Client, stack):
    before = client.get("/v1/documents").json()["documents"]
    report = client.post("/v1/index/course").json()
    assert report["added"] == report["replaced"] == report["removed"] == 0
    assert report["unchanged"] == report["files"] > 10
    assert client.get("/v1/documents").json()["documents"] == before


def test_course_sync_adds_replaces_and_removes_files(stack, tmp_path: Path):
    """index_course on a course of our own, in its own collection: the file-level bookkeeping."""
    (tmp_path / "docs" / "guide").mkdir(parents=True)
    page_a, page_b = tmp_path / "docs" / "guide" / "a.md", tmp_path / "docs" / "b.md"
    page_a.write_text("# Alpha\n\nAlpha pages talk about alpacas.\n")
    page_b.write_text("# Beta\n\nBeta pages talk about beavers.\n")
    (tmp_path / "docs" / "c.md").write_text("# Only a heading\n")  # nothing to index: skipped

    async def scenario() -> list:
        embedder = EmbeddingClient(
            stack.triton.grpc_url, "minilm_l6_v2", str(ensure_model().with_name("tokenizer.json")), 10.0
        )
        store = VectorStore(stack.milvus.uri, f"sync_{uuid.uuid4().hex[:8]}", 10.0)
        ingestion = Ingestion(embedder, store, 200, 40)
        reports = [(await ingestion.index_course(tmp_path, "http://site/")).outcomes]
        reports.append((await ingestion.index_course(tmp_path, "http://site/")).outcomes)
        page_a.write_text("# Alpha\n\nAlpha pages now talk about llamas.\n")
        page_b.unlink()
        reports.append((await ingestion.index_course(tmp_path, "http://site/")).outcomes)
        documents = await store.documents()
        hits = await store.search((await embedder.embed(["llamas"]))[0], 5)
        await embedder.close()
        store.close()
        return [reports, documents, hits]

    reports, documents, hits = asyncio.run(scenario())
    assert reports[0] == {"added": 2, "replaced": 0, "unchanged": 0, "removed": 0}
    assert reports[1] == {"added": 0, "replaced": 0, "unchanged": 2, "removed": 0}
    assert reports[2] == {"added": 0, "replaced": 1, "unchanged": 0, "removed": 1}
    assert set(documents) == {"docs/guide/a.md"} and documents["docs/guide/a.md"].chunks == 1
    assert [h.chunk.text for h in hits] == ["Alpha pages now talk about llamas."]
    assert hits[0].chunk.url == "http://site/guide/a/#alpha"


@pytest.mark.parametrize("name", ["notes.md", "notes.txt", "NOTES_2.markdown"])
def test_accepted_document_names(client: httpx.Client, name: str):
    unique = f"{uuid.uuid4().hex[:6]}-{name}"
    assert upload(client, unique, "# Title\n\nSome text about gizmos.\n").status_code == 201
    assert client.delete(f"/v1/documents/uploads/{unique}").status_code == 204
