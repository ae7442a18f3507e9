"""Request and response bodies, with the examples the OpenAPI page shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CHAPTER_PATTERN = r"^[a-z0-9-]{1,64}$"
Chapter = Field(None, pattern=CHAPTER_PATTERN, description="Only search this chapter, e.g. `fundamentals`.")


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "Why does the service share one Triton client?", "stream": True}]})
    question: str = Field(min_length=1, description="A question about the course.")
    k: int | None = Field(None, ge=1, le=20, description="How many chunks to retrieve (default 5).")
    chapter: str | None = Chapter
    stream: bool = Field(True, description="Server-Sent Events when true, one JSON answer when false.")


class Citation(BaseModel):
    number: int = Field(description="The [n] the answer cites it by.")
    source: str = Field(description="File in the course, e.g. docs/fundamentals/inference-lifecycle.md.")
    heading: str = Field(description="Page title > section > subsection.")
    url: str | None = Field(description="The section on the course site (None for files it does not publish).")
    chapter: str
    score: float = Field(description="Cosine similarity of the chunk and the question.")
    snippet: str


class Answer(BaseModel):
    question: str
    answer: str
    mode: Literal["generated", "retrieval_only", "not_covered"] = Field(
        description="`retrieval_only`: the LLM was down, the citations are the answer; "
                    "`not_covered`: nothing in the course was relevant enough, nothing was generated.")
    citations: list[Citation]
    timings_ms: dict[str, float]


class SearchResults(BaseModel):
    query: str
    results: list[Citation]
    timings_ms: dict[str, float]


class DocumentResult(BaseModel):
    source: str
    outcome: Literal["added", "replaced", "unchanged"]
    chunks: int


class StoredDocument(BaseModel):
    source: str
    chunks: int


class DocumentList(BaseModel):
    documents: list[StoredDocument]


class CourseIndexResult(BaseModel):
    files: int
    chunks: int
    added: int
    replaced: int
    unchanged: int
    removed: int


class HealthStatus(BaseModel):
    status: str
    llm: str | None = None
