"""HTTP routes: ask (streamed or not), search, documents, course re-index, health."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.sse import EventSourceResponse, format_sse_event

from rag.api.deps import AgentDep, AnswererDep, IngestionDep, SettingsDep
from rag.api.problem_details import PROBLEM, Problem, not_ready, problem_doc
from rag.api.schemas import (
    CHAPTER_PATTERN,
    AgentAnswer,
    AgentIn,
    Answer,
    AskIn,
    CourseIndexResult,
    DocumentList,
    DocumentResult,
    HealthStatus,
    SearchResults,
    StoredDocument,
)
from rag.services.answering import Event, Retrieval

router = APIRouter()
UNAVAILABLE: dict[int | str, dict[str, Any]] = {503: problem_doc("Triton or Milvus unavailable; see Retry-After.")}
DOCUMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(md|markdown|txt)$")
TEXT_TYPES = {"text/markdown", "text/x-markdown", "text/plain", "application/octet-stream", ""}
_reindexing = asyncio.Lock()


async def sse(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    async for event in events:
        yield format_sse_event(event=event.kind, data_str=json.dumps(event.data))


# --8<-- [start:ask]
@router.post(
    "/v1/ask",
    tags=["ask"],
    responses={
        200: {
            "description": "`text/event-stream`: one `citations` event, `token` events, one `done` event "
            "with the mode; JSON when `stream` is false.",
            "model": Answer,
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "event": {"enum": ["citations", "token", "done"]},
                            "data": {"type": "string"},
                        },
                    }
                }
            },
        },
        413: PROBLEM,
        422: PROBLEM,
        **UNAVAILABLE,
    },
)
async def ask(body: AskIn, answerer: AnswererDep, settings: SettingsDep):
    """Answer a question from the course, citing the sections it used."""
    if len(body.question) > settings.max_question_chars:
        raise Problem(413, "text-too-long", f"at most {settings.max_question_chars} characters")
    # Retrieval runs before the response starts, so a dead Triton or Milvus is a clean 503.
    retrieval = await answerer.retrieve(body.question, body.k or settings.top_k, body.chapter)
    answer = answerer.answer(retrieval, body.mode or settings.answer_mode)
    if body.stream:
        return EventSourceResponse(sse(answer), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return await collect(retrieval, answer)


# --8<-- [end:ask]


async def collect(retrieval: Retrieval, events: AsyncIterator[Event]) -> Answer:
    text, citations, done = [], [], {}
    async for event in events:
        if event.kind == "citations":
            citations = event.data["citations"]
        elif event.kind == "token":
            text.append(event.data["text"])
        else:
            done = event.data
    return Answer(
        question=retrieval.question,
        answer="".join(text).strip(),
        mode=done["mode"],
        citations=citations,
        timings_ms=done["timings_ms"],
    )


# --8<-- [start:agent-route]
@router.post(
    "/v1/agent",
    response_model=AgentAnswer,
    tags=["ask"],
    responses={
        413: PROBLEM,
        422: PROBLEM,
        503: problem_doc("Triton, Milvus or the LLM server unavailable; see Retry-After."),
    },
)
async def agent(body: AgentIn, agent: AgentDep, settings: SettingsDep) -> AgentAnswer:
    """Let the model search the course, as many times as the step budget allows, then answer."""
    if len(body.question) > settings.max_question_chars:
        raise Problem(413, "text-too-long", f"at most {settings.max_question_chars} characters")
    max_steps = body.max_steps or settings.agent_max_steps
    if max_steps > settings.agent_max_steps:
        raise Problem(422, "too-many-steps", f"max_steps is at most {settings.agent_max_steps}")
    run = await agent.run(body.question, max_steps)
    return AgentAnswer(
        question=run.question,
        answer=run.answer,
        finished=run.finished,
        steps=[asdict(step) for step in run.steps],
        citations=[asdict(c) for c in run.citations],
    )


# --8<-- [end:agent-route]


@router.get("/v1/search", response_model=SearchResults, tags=["ask"], responses={422: PROBLEM, **UNAVAILABLE})
async def search(
    answerer: AnswererDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Search text.")],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    chapter: Annotated[str | None, Query(pattern=CHAPTER_PATTERN)] = None,
) -> SearchResults:
    """Retrieval only: the chunks closest to the query, best first, with their scores."""
    retrieval = await answerer.retrieve(q, k, chapter)
    return SearchResults(query=q, results=[asdict(c) for c in retrieval.citations()], timings_ms=retrieval.timings_ms)


# --8<-- [start:upload]
@router.post(
    "/v1/documents",
    response_model=DocumentResult,
    status_code=201,
    tags=["documents"],
    responses={
        200: {"description": "The same content was already indexed: nothing changed.", "model": DocumentResult},
        413: PROBLEM,
        415: PROBLEM,
        422: PROBLEM,
        **UNAVAILABLE,
    },
)
async def upload_document(
    file: Annotated[UploadFile, File(description="A markdown or text file (UTF-8).")],
    ingestion: IngestionDep,
    settings: SettingsDep,
    response: Response,
) -> DocumentResult:
    """Add a document to the knowledge base (or replace the one of the same name).
    Its chunks are searchable under the chapter `uploads`."""
    name = file.filename or ""
    if Path(name).suffix.lower() not in (".md", ".markdown", ".txt"):
        raise Problem(415, "unsupported-media-type", "only .md, .markdown and .txt files are indexed")
    if not DOCUMENT_NAME.match(name):
        raise Problem(
            422,
            "invalid-document-name",
            "file name: letters, digits, '.', '_' or '-', at most 100 characters, ending in .md, .markdown or .txt",
        )
    if (file.content_type or "").split(";")[0].strip().lower() not in TEXT_TYPES:
        raise Problem(415, "unsupported-media-type", f"{file.content_type} is not a text document")
    raw = await file.read(settings.max_document_bytes + 1)
    if len(raw) > settings.max_document_bytes:
        raise Problem(413, "payload-too-large", f"at most {settings.max_document_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(415, "unsupported-media-type", "the document is not UTF-8 text") from None
    if "\x00" in text:
        raise Problem(415, "unsupported-media-type", "the document holds binary data")
    if not text.strip():
        raise Problem(422, "empty-document", "the document is empty")
    source = f"uploads/{name}"
    stored = (await ingestion.store.documents()).get(source)
    result = await ingestion.ingest(source, text, "uploads", None, stored)
    if result.outcome == "unchanged":
        response.status_code = 200
    return DocumentResult(**asdict(result))


# --8<-- [end:upload]


@router.get("/v1/documents", response_model=DocumentList, tags=["documents"], responses=UNAVAILABLE)
async def list_documents(ingestion: IngestionDep) -> DocumentList:
    stored = await ingestion.store.documents()
    return DocumentList(
        documents=[
            StoredDocument(source=d.source, chunks=d.chunks) for d in sorted(stored.values(), key=lambda d: d.source)
        ]
    )


@router.delete(
    "/v1/documents/uploads/{name}", status_code=204, tags=["documents"], responses={404: PROBLEM, **UNAVAILABLE}
)
async def delete_document(name: str, ingestion: IngestionDep) -> Response:
    """Remove an uploaded document and its chunks."""
    source = f"uploads/{name}"
    if source not in await ingestion.store.documents():
        raise Problem(404, "not-found", f"no document {source!r}")
    await ingestion.store.delete_document(source)
    return Response(status_code=204)


@router.post(
    "/v1/index/course", response_model=CourseIndexResult, tags=["documents"], responses={409: PROBLEM, **UNAVAILABLE}
)
async def index_course(ingestion: IngestionDep, settings: SettingsDep) -> CourseIndexResult:
    """(Re)index the course: changed files are re-embedded, unchanged ones skipped, removed ones deleted."""
    if not settings.course_dir or not (Path(settings.course_dir) / "docs").is_dir():
        raise Problem(
            409, "course-not-configured", "RAG_COURSE_DIR does not point at the course (a folder holding docs/)"
        )
    async with _reindexing:  # one re-index at a time per instance
        report = await ingestion.index_course(Path(settings.course_dir), settings.docs_site_url)
    return CourseIndexResult(files=report.files, chunks=report.chunks, **report.outcomes)


@router.get("/health/live", response_model=HealthStatus, tags=["health"])
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get("/health/ready", response_model=HealthStatus, tags=["health"], responses={503: PROBLEM})
async def ready(answerer: AnswererDep, settings: SettingsDep) -> HealthStatus:
    """Ready when Triton and Milvus answer. The LLM is reported but not required: without it the
    service still answers, with retrieval only."""
    missing = [
        name
        for name, ok in (("Triton", await answerer.embedder.is_ready()), ("Milvus", await answerer.store.ping()))
        if not ok
    ]
    if missing:
        raise not_ready(missing, settings.retry_after_s)
    return HealthStatus(status="ready", llm="up" if await answerer.llm.is_ready() else "down")
