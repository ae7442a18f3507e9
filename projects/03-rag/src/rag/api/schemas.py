"""Request and response bodies, with the examples the OpenAPI page shows."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CHAPTER_PATTERN = r"^[a-z0-9-]{1,64}$"
Chapter = Field(None, pattern=CHAPTER_PATTERN, description="Only search this chapter, e.g. `fundamentals`.")


class AskIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "Why does the service share one Triton client?", "stream": True}]},
    )
    question: str = Field(min_length=1, description="A question about the course.")
    k: int | None = Field(None, ge=1, le=20, description="How many chunks to retrieve (default 5).")
    chapter: str | None = Chapter
    stream: bool = Field(True, description="Server-Sent Events when true, one JSON answer when false.")
    mode: Literal["extractive", "generative"] | None = Field(
        None, description="extractive: quotes from the course; generative: the LLM's words (default: the service's)."
    )


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
    mode: Literal["extracted", "generated", "retrieval_only", "not_covered"] = Field(
        description="`extracted`: sentences quoted from the citations; `generated`: written by the LLM; "
        "`retrieval_only`: a model was down, the citations are the answer; "
        "`not_covered`: nothing in the course was relevant enough, nothing was generated."
    )
    citations: list[Citation]
    timings_ms: dict[str, float]


class AgentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"question": "How does project 02 stop generating when the client leaves?", "max_steps": 3}]
        },
    )
    question: str = Field(min_length=1, description="A question about the course.")
    max_steps: int | None = Field(
        None, ge=1, description="Most steps (searches + the answer); default and upper bound: the service's setting."
    )


class AgentStep(BaseModel):
    number: int
    tool: Literal["search_course", "answer", "invalid"] = Field(
        description="`invalid`: the model wrote something that is not a step; it was told so."
    )
    argument: str = Field(description="The search words, the answer, or (invalid) what was written.")
    ms: float = Field(description="The model's step, and the search when there was one.")
    sources: list[int] = Field(description="Citation numbers this search added.")


class AgentAnswer(BaseModel):
    question: str
    answer: str | None = Field(description="None when the step budget ran out without a valid answer.")
    finished: Literal["answered", "step_budget"]
    steps: list[AgentStep]
    citations: list[Citation] = Field(description="Every source the searches showed the model, by number.")


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
