"""The assistant's flow as a LangGraph state graph. Each node is a step of steps.py; the routes are
plain functions of the state. The state holds decisions only (the message itself stays in
PostgreSQL), and the checkpointer saves it after every step, so a run killed half-way resumes
from its last finished step."""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from email_assistant.permissions import ENDS_EARLY, NO_REPLY


# --8<-- [start:state]
class MailState(TypedDict, total=False):
    message: int  # messages.id; the thread id is "message-<id>"
    category: str
    urgency: str
    facts: dict[str, Any]  # who, what is asked, dates, amounts (the extract step)
    tool: str  # the tool chosen, or "none"
    argument: str
    tool_result: dict[str, Any]
    draft: str
    decision: dict[str, Any]  # from the person: action (approve, edit, reject), body, reason
    outcome: str  # sent, filed, escalated, rejected


# --8<-- [end:state]


class Steps(Protocol):
    async def triage(self, state: MailState) -> MailState: ...
    async def extract(self, state: MailState) -> MailState: ...
    async def choose_tool(self, state: MailState) -> MailState: ...
    async def run_tool(self, state: MailState) -> MailState: ...
    async def draft(self, state: MailState) -> MailState: ...
    async def send(self, state: MailState) -> MailState: ...
    async def file(self, state: MailState) -> MailState: ...
    async def escalated(self, state: MailState) -> MailState: ...
    async def rejected(self, state: MailState) -> MailState: ...


# --8<-- [start:routes]
def after_triage(state: MailState) -> str:
    """Spam and newsletters end here, and so does mail that needs no reply: filed."""
    return "file" if state["category"] in ENDS_EARLY | NO_REPLY else "extract"


def after_choice(state: MailState) -> str:
    return "draft" if state["tool"] == "none" else "run_tool"


def after_tool(state: MailState) -> str:
    return "escalated" if state["tool"] == "escalate" else "draft"


def after_approval(state: MailState) -> str:
    return "send" if state["decision"]["action"] in ("approve", "edit") else "rejected"


def approval(state: MailState) -> MailState:
    """Pause until a person decides; the worker resumes the thread with their decision."""
    return {"decision": interrupt({"message": state["message"]})}


# --8<-- [end:routes]


# --8<-- [start:build]
def build(steps: Steps) -> StateGraph:
    graph = StateGraph(MailState)
    for name in ("triage", "extract", "choose_tool", "run_tool", "draft", "send", "file", "escalated", "rejected"):
        graph.add_node(name, getattr(steps, name))
    graph.add_node("approval", approval)
    graph.add_edge(START, "triage")
    graph.add_conditional_edges("triage", after_triage, ["file", "extract"])
    graph.add_edge("extract", "choose_tool")
    graph.add_conditional_edges("choose_tool", after_choice, ["run_tool", "draft"])
    graph.add_conditional_edges("run_tool", after_tool, ["escalated", "draft"])
    graph.add_edge("draft", "approval")
    graph.add_conditional_edges("approval", after_approval, ["send", "rejected"])
    for last in ("send", "file", "escalated", "rejected"):
        graph.add_edge(last, END)
    return graph


# --8<-- [end:build]
