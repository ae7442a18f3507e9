"""The tools the agent may call. Each is a function of the service, scoped to the message being
handled: sender_history always reads the message's own sender, whatever the argument asks for, so
an email cannot make the agent look up someone else."""

from __future__ import annotations

from typing import Any

import httpx

from email_assistant.store import Store

TOOLS = ("search_course", "sender_history", "check_calendar", "escalate")


class ToolFailed(RuntimeError):
    """A tool's backend did not answer; the draft is written without its result."""


class Tools:
    def __init__(self, store: Store, http: httpx.AsyncClient, course_search_url: str | None):
        self.store, self.http, self.course_search_url = store, http, course_search_url

    async def run(self, tool: str, argument: str, message: dict[str, Any]) -> dict[str, Any]:
        if tool == "search_course":
            return await self.search_course(argument or message["subject"])
        if tool == "sender_history":
            return await self.store.sender_history(message["sender"], before=message["id"])
        if tool == "check_calendar":
            return {"free_slots": await self.store.free_slots()}
        if tool == "escalate":
            await self.store.add_note(message["sender"], f"escalated: {message['subject'][:200]}")
            return {"escalated": True}
        raise ValueError(f"unknown tool {tool!r}")

    async def search_course(self, query: str) -> dict[str, Any]:
        """Project 03's retrieval endpoint: the course sections closest to the query."""
        if not self.course_search_url:
            raise ToolFailed("no course search configured (EMAIL_ASSISTANT_COURSE_SEARCH_URL)")
        try:
            response = await self.http.get(
                f"{self.course_search_url}/v1/search", params={"q": query[:1000], "k": 3}, timeout=20
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise ToolFailed(f"course search failed: {type(exc).__name__}") from exc
        return {
            "sections": [
                {"heading": hit["heading"], "url": hit["url"], "snippet": hit["snippet"][:400]}
                for hit in response.json()["results"]
            ]
        }
