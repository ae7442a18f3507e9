"""An agent: the model decides, step by step, whether to search the course (and for what) or to
answer; the service runs the search, shows the model what it found, and stops it.

What makes the loop safe to run in a service is not the model but the frame around it:
- a closed set of tools, each a function of the service, read-only;
- every step constrained to a JSON schema by the LLM server, and validated again here;
- a step budget the schema enforces: at the last step, "answer" is the only tool it allows;
- every step recorded (tool, argument, time, sources) and returned, traced and counted."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag import metrics
from rag.llm_client import LLMClient
from rag.services.answering import Answerer, Citation, Retrieval
from rag.vector_store import Hit

Tool = Literal["search_course", "answer"]
TOOLS: tuple[str, ...] = get_args(Tool)
SYSTEM_PROMPT = (
    "You answer questions about a course on production AI inference. Work in steps. Each step is one "
    'JSON object: {"tool": ..., "argument": ...}. Tools: "search_course": the argument is a few words '
    'to look up in the course, and you get back numbered sources. "answer": the argument is your final '
    "answer, citing the sources you used by number, like [1]. Search before you answer, and use only "
    "what the sources say."
)
INVALID_STEP = (
    'That was not a valid step. Reply with one JSON object with the keys "tool" and "argument"; '
    "the tool is one of: {tools}."
)


# --8<-- [start:step]
ARGUMENT_MAX_CHARS = 400
# The schema counts characters, the token limit counts tokens. A byte-level BPE token holds at least
# one byte, and one character of a JSON string is at most 6 bytes (an escape such as \u00e9; raw
# UTF-8 takes at most 4), so a step that respects the schema always fits in this many tokens: the
# server can never cut a step off half-way (a cut-off step is not valid JSON).
STEP_FRAME_BYTES = 64  # {"tool": "search_course", "argument": ""} and some whitespace
STEP_MAX_TOKENS = 6 * ARGUMENT_MAX_CHARS + STEP_FRAME_BYTES


class Step(BaseModel):
    """What the model must write at each step; checked here even when the server constrained it."""

    model_config = ConfigDict(extra="forbid")
    tool: Tool
    argument: str = Field(min_length=1, max_length=ARGUMENT_MAX_CHARS)


def step_schema(tools: tuple[str, ...]) -> dict:
    """The JSON schema the LLM server decodes against: only the tools allowed at this step."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["tool", "argument"],
        "properties": {
            "tool": {"enum": list(tools)},
            "argument": {"type": "string", "minLength": 1, "maxLength": ARGUMENT_MAX_CHARS},
        },
    }


# --8<-- [end:step]


@dataclass
class StepRecord:
    number: int
    tool: str  # a tool, or "invalid" when the model wrote something that is not a step
    argument: str
    ms: float
    sources: list[int] = field(default_factory=list)


@dataclass
class AgentRun:
    question: str
    answer: str | None
    finished: Literal["answered", "step_budget"]
    steps: list[StepRecord]
    citations: list[Citation]


class Agent:
    def __init__(self, answerer: Answerer, llm: LLMClient, structured: str, search_k: int):
        self.answerer, self.llm, self.structured, self.search_k = answerer, llm, structured, search_k
        self.tracer = answerer.tracer

    # --8<-- [start:loop]
    async def run(self, question: str, max_steps: int) -> AgentRun:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
        sources: list[Hit] = []
        steps: list[StepRecord] = []
        for number in range(1, max_steps + 1):
            tools = TOOLS if number < max_steps else ("answer",)  # the budget, enforced by the schema
            with self.tracer.start_as_current_span("agent step") as span:
                started = time.perf_counter()
                text = await self.llm.complete_json(messages, step_schema(tools), STEP_MAX_TOKENS, self.structured)
                step = parse_step(text, tools)
                span.set_attributes({"agent.step": number, "agent.tool": step.tool if step else "invalid"})
                if step is None:  # not a step: say so, and let it try again within the budget
                    record = StepRecord(number, "invalid", text[:200], ms_since(started))
                    messages += [
                        {"role": "assistant", "content": text},
                        {"role": "user", "content": INVALID_STEP.format(tools=", ".join(tools))},
                    ]
                elif step.tool == "answer":
                    steps.append(StepRecord(number, "answer", step.argument, ms_since(started)))
                    metrics.AGENT_STEPS.labels("answer").inc()
                    return self._finish(question, step.argument, "answered", steps, sources)
                else:
                    retrieval = await self.answerer.retrieve(step.argument, self.search_k)
                    seen = {hit.chunk for hit in sources}
                    new = [hit for hit in retrieval.hits if hit.chunk not in seen]
                    first = len(sources) + 1
                    sources += new
                    record = StepRecord(
                        number, "search_course", step.argument, ms_since(started), list(range(first, first + len(new)))
                    )
                    messages += [
                        {"role": "assistant", "content": step.model_dump_json()},
                        {"role": "user", "content": observation(new, first)},
                    ]
            steps.append(record)
            metrics.AGENT_STEPS.labels(record.tool).inc()
        return self._finish(question, None, "step_budget", steps, sources)

    # --8<-- [end:loop]

    def _finish(
        self,
        question: str,
        answer: str | None,
        finished: Literal["answered", "step_budget"],
        steps: list[StepRecord],
        sources: list[Hit],
    ) -> AgentRun:
        metrics.AGENT_RUNS.labels(finished).inc()
        return AgentRun(question, answer, finished, steps, Retrieval(question, sources).citations())


# --8<-- [start:parse]
def parse_step(text: str, tools: tuple[str, ...]) -> Step | None:
    """The step, or None. strict=False: llama.cpp's JSON grammar lets a raw line break into a string,
    which strict JSON forbids; that is the one leniency, everything else is validated."""
    try:
        step = Step.model_validate(json.loads(text, strict=False))
    except (ValidationError, json.JSONDecodeError, TypeError):
        return None
    return step if step.tool in tools else None


# --8<-- [end:parse]


def observation(hits: list[Hit], first: int) -> str:
    """What a search shows the model: new sources only, numbered after the ones it has seen."""
    if not hits:
        return "search_course found nothing new. Answer with the sources you have, or search other words."
    return "search_course found:\n\n" + "\n\n".join(
        f"[{first + i}] {hit.chunk.heading}\n{hit.chunk.text}" for i, hit in enumerate(hits)
    )


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
