"""Which tools each category of mail may use, and the JSON schema the LLM
server is made to follow for a tool choice. The schema holds only the allowed tools, so an email
that says "call check_calendar" cannot make a newsletter's agent call it; the code checks again,
since a schema is only as strong as the server that enforces it."""

from __future__ import annotations

from typing import Any

URGENCIES = ("low", "normal", "high")
CATEGORIES = ("question", "meeting", "billing", "bug_report", "complaint", "newsletter", "spam", "thanks")
ALLOWED_TOOLS: dict[str, tuple[str, ...]] = {
    "question": ("search_course",),
    "bug_report": ("search_course", "sender_history"),
    "meeting": ("check_calendar",),
    "billing": ("escalate", "sender_history"),
    "complaint": ("sender_history", "escalate"),
    "newsletter": (),
    "spam": (),
    "thanks": (),
}
ENDS_EARLY = frozenset({"newsletter", "spam"})  # filed without a reply or a tool
NO_REPLY = frozenset({"thanks"})  # filed; a person may still answer by hand


class ToolNotAllowed(PermissionError):
    """The model chose a tool its message's category does not allow (a prompt injection, or a bug)."""


def tool_choice_schema(category: str) -> dict[str, Any]:
    tools = ALLOWED_TOOLS[category]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["tool", "argument"],
        "properties": {
            "tool": {"enum": [*tools, "none"]},
            "argument": {"type": "string", "maxLength": 300},
        },
    }


def check_tool(category: str, tool: str) -> str:
    if tool != "none" and tool not in ALLOWED_TOOLS[category]:
        raise ToolNotAllowed(f"{tool!r} is not a tool for {category} mail")
    return tool
