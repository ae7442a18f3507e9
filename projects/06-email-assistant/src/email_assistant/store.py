"""Everything the assistant keeps, in PostgreSQL: the messages as received, the decision log, the
approvals, the replies sent, what it learned about senders (its memory) and the team's calendar.
LangGraph's checkpoints live in the same database, in the tables AsyncPostgresSaver.setup() makes.

The database is the truth: a message is accepted when its row is committed, and Redis only ever
holds copies (the queue, the duplicate check) that can be rebuilt from here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from email_assistant.mail import InboundMail

# --8<-- [start:schema]
SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id            bigserial PRIMARY KEY,
    message_id    text UNIQUE NOT NULL,           -- the Message-ID header: a second delivery finds this row
    sender        text NOT NULL,
    sender_name   text NOT NULL DEFAULT '',
    subject       text NOT NULL DEFAULT '',
    body          text NOT NULL,                  -- what the sender wrote, without the quoted history
    raw           bytea NOT NULL,                 -- the message as received
    in_reply_to   text,
    refs          text[] NOT NULL DEFAULT '{}',
    attachments   text[] NOT NULL DEFAULT '{}',
    flags         text[] NOT NULL DEFAULT '{}',
    category      text,
    urgency       text,
    state         text NOT NULL DEFAULT 'queued', -- see STATES
    attempts      integer NOT NULL DEFAULT 0,     -- runs that failed on a backend (the LLM, the relay)
    received_at   timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS messages_sender ON messages (sender, received_at DESC);
CREATE INDEX IF NOT EXISTS messages_state ON messages (state);

-- The decision log: one row per step. Decisions and evidence only, never free-text reasoning.
CREATE TABLE IF NOT EXISTS decisions (
    id                bigserial PRIMARY KEY,
    message           bigint NOT NULL REFERENCES messages(id),
    node              text NOT NULL,
    inputs            jsonb NOT NULL,             -- redacted (redaction.py)
    output            jsonb NOT NULL,             -- the model's structured output, or the step's result
    tool              text,
    tool_result       jsonb,
    model             text,
    prompt_tokens     integer,
    completion_tokens integer,
    latency_ms        real NOT NULL,
    at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS decisions_message ON decisions (message, id);

CREATE TABLE IF NOT EXISTS approvals (
    message       bigint PRIMARY KEY REFERENCES messages(id),
    draft         text NOT NULL,
    action        text,                           -- approve, edit, reject: set once
    final_body    text,
    reason        text,                           -- a rejection's reason joins the sender's memory
    requested_at  timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz
);

-- One row per reply: the key makes "approved twice" and "resumed after a crash" send once.
CREATE TABLE IF NOT EXISTS sent (
    message       bigint PRIMARY KEY REFERENCES messages(id),
    reply_id      text NOT NULL,                  -- the reply's Message-ID (fixed: mail.reply_id)
    state         text NOT NULL,                  -- sending, then sent
    sent_at       timestamptz
);

-- What the team told the assistant about a sender (rejection reasons, escalations): its memory.
CREATE TABLE IF NOT EXISTS sender_notes (
    id            bigserial PRIMARY KEY,
    sender        text NOT NULL,
    note          text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calendar_slots (
    starts_at     timestamptz PRIMARY KEY,
    minutes       integer NOT NULL,
    booked        boolean NOT NULL DEFAULT false
);
"""
# --8<-- [end:schema]

# queued -> working -> awaiting_approval -> sent | rejected;  working -> filed | escalated;
# held: over the sender's hourly limit (kept, not processed)
STATES = ("queued", "held", "working", "awaiting_approval", "sent", "rejected", "filed", "escalated")
FINISHED = {"sent", "rejected", "filed", "escalated"}
IN_PROGRESS = frozenset({"queued", "working"})  # a worker has yet to take it, or is on it


@dataclass(frozen=True)
class Stored:
    id: int
    created: bool  # False: the same Message-ID was stored before (a second delivery)
    state: str


def open_pool(url: str) -> AsyncConnectionPool:
    """One pool for the service's queries and LangGraph's checkpointer, which needs autocommit
    connections that return rows as dicts. Connections are checked before use, so a restarted
    database is found again without restarting the service."""
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=8,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        check=AsyncConnectionPool.check_connection,
        timeout=5,
    )


class Store:
    def __init__(self, pool: AsyncConnectionPool):
        self.pool = pool

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cursor = await conn.execute(query, args)
            rows = await cursor.fetchall() if cursor.description else []
            return cast(list[dict[str, Any]], rows)  # the pool's connections return rows as dicts

    async def fetch_one(self, query: str, *args: Any) -> dict[str, Any] | None:
        rows = await self.fetch(query, *args)
        return rows[0] if rows else None

    async def setup(self) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            # The API and the workers all set up at start: one at a time (CREATE ... IF NOT EXISTS races).
            await conn.execute("SELECT pg_advisory_xact_lock(606)")
            await conn.execute(SCHEMA, prepare=False)  # several statements: never a prepared one
            # A small calendar for the check_calendar tool: two free slots a working day, two weeks ahead.
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            for day in range(1, 15):
                date = today + timedelta(days=day)
                if date.weekday() < 5:
                    for hour in (10, 14):
                        await conn.execute(
                            "INSERT INTO calendar_slots (starts_at, minutes) VALUES (%s, 60) ON CONFLICT DO NOTHING",
                            (date + timedelta(hours=hour),),
                        )

    # --8<-- [start:accept]
    async def insert_message(self, mail: InboundMail, raw: bytes, state: str) -> Stored:
        """The acceptance itself: a committed row. The unique Message-ID turns a second delivery
        into a lookup of the first."""
        row = await self.fetch_one(
            """INSERT INTO messages (message_id, sender, sender_name, subject, body, raw, in_reply_to,
                                     refs, attachments, flags, state)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (message_id) DO NOTHING RETURNING id, state""",
            mail.message_id, mail.sender, mail.sender_name, mail.subject, mail.text, raw, mail.in_reply_to,
            mail.references, mail.attachments, mail.flags, state,
        )  # fmt: skip
        if row is not None:
            return Stored(row["id"], True, row["state"])
        first = await self.fetch_one("SELECT id, state FROM messages WHERE message_id = %s", mail.message_id)
        assert first is not None
        return Stored(first["id"], False, first["state"])

    # --8<-- [end:accept]

    async def message(self, message: int) -> dict[str, Any] | None:
        return await self.fetch_one(
            """SELECT id, message_id, sender, sender_name, subject, body, in_reply_to, refs, attachments,
                      flags, category, urgency, state, attempts, received_at, updated_at
               FROM messages WHERE id = %s""",
            message,
        )

    def inbound(self, row: dict[str, Any]) -> InboundMail:
        return InboundMail(
            message_id=row["message_id"],
            sender=row["sender"],
            sender_name=row["sender_name"],
            subject=row["subject"],
            text=row["body"],
            in_reply_to=row["in_reply_to"],
            references=list(row["refs"]),
            attachments=list(row["attachments"]),
            flags=list(row["flags"]),
        )

    async def set_state(
        self, message: int, state: str, category: str | None = None, urgency: str | None = None
    ) -> None:
        """The message's state; its category and urgency too when given (triage), else kept."""
        await self.fetch(
            """UPDATE messages SET state = %s, category = COALESCE(%s, category), urgency = COALESCE(%s, urgency),
                                   updated_at = now() WHERE id = %s""",
            state, category, urgency, message,
        )  # fmt: skip

    async def count_attempt(self, message: int) -> int:
        row = await self.fetch_one(
            "UPDATE messages SET attempts = attempts + 1, updated_at = now() WHERE id = %s RETURNING attempts", message
        )
        return row["attempts"] if row else 0

    async def unfinished(self) -> list[int]:
        """Messages a worker has work on: accepted and not done, or decided by a person and not yet
        sent or filed. What a worker queues again when it starts, and every minute after."""
        rows = await self.fetch(
            """SELECT m.id FROM messages m LEFT JOIN approvals a ON a.message = m.id
               WHERE m.state IN ('queued', 'working')
                  OR (m.state = 'awaiting_approval' AND a.action IS NOT NULL)
               ORDER BY m.id"""
        )
        return [row["id"] for row in rows]

    # --8<-- [start:log]
    async def log_decision(
        self,
        message: int,
        node: str,
        inputs: dict[str, Any],
        output: dict[str, Any],
        latency_ms: float,
        tool: str | None = None,
        tool_result: dict[str, Any] | None = None,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
    ) -> None:
        await self.fetch(
            """INSERT INTO decisions (message, node, inputs, output, tool, tool_result, model,
                                      prompt_tokens, completion_tokens, latency_ms)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            message, node, Jsonb(inputs), Jsonb(output), tool, None if tool_result is None else Jsonb(tool_result),
            model, prompt_tokens, completion_tokens, latency_ms,
        )  # fmt: skip

    # --8<-- [end:log]

    async def trace(self, message: int) -> list[dict[str, Any]]:
        return await self.fetch(
            """SELECT node, inputs, output, tool, tool_result, model, prompt_tokens, completion_tokens,
                      latency_ms, at FROM decisions WHERE message = %s ORDER BY id""",
            message,
        )

    async def request_approval(self, message: int, draft: str) -> None:
        await self.fetch(
            "INSERT INTO approvals (message, draft) VALUES (%s, %s) ON CONFLICT (message) DO UPDATE SET draft = %s"
            " WHERE approvals.action IS NULL",
            message, draft, draft,
        )  # fmt: skip
        await self.set_state(message, "awaiting_approval")

    async def waiting_approvals(self, limit: int) -> list[dict[str, Any]]:
        return await self.fetch(
            """SELECT a.message, m.sender, m.subject, m.category, m.urgency, a.draft, a.requested_at
               FROM approvals a JOIN messages m ON m.id = a.message
               WHERE a.action IS NULL AND m.state = 'awaiting_approval' ORDER BY a.requested_at LIMIT %s""",
            limit,
        )

    # --8<-- [start:decide]
    async def decide(self, message: int, action: str, final_body: str | None, reason: str | None) -> str:
        """Record a person's decision, once: "decided", or why not ("missing", "already")."""
        row = await self.fetch_one(
            """UPDATE approvals SET action = %s, final_body = COALESCE(%s, draft), reason = %s, decided_at = now()
               WHERE message = %s AND action IS NULL RETURNING message""",
            action, final_body, reason, message,
        )  # fmt: skip
        if row is not None:
            return "decided"
        exists = await self.fetch_one("SELECT action FROM approvals WHERE message = %s", message)
        return "missing" if exists is None else "already"

    # --8<-- [end:decide]

    async def approval(self, message: int) -> dict[str, Any] | None:
        return await self.fetch_one(
            "SELECT action, final_body, reason, requested_at, decided_at FROM approvals WHERE message = %s", message
        )

    async def claim_send(self, message: int, reply_id: str) -> bool:
        """True when this reply is still to be sent (never sent, or a send a crash interrupted)."""
        await self.fetch(
            "INSERT INTO sent (message, reply_id, state) VALUES (%s, %s, 'sending') ON CONFLICT DO NOTHING",
            message, reply_id,
        )  # fmt: skip
        row = await self.fetch_one("SELECT state FROM sent WHERE message = %s", message)
        return row is not None and row["state"] == "sending"

    async def mark_sent(self, message: int) -> None:
        await self.fetch("UPDATE sent SET state = 'sent', sent_at = now() WHERE message = %s", message)
        await self.set_state(message, "sent")

    async def step_count(self, message: int) -> int:
        row = await self.fetch_one("SELECT count(*) AS n FROM decisions WHERE message = %s", message)
        return row["n"] if row else 0

    async def add_note(self, sender: str, note: str) -> None:
        await self.fetch("INSERT INTO sender_notes (sender, note) VALUES (%s, %s)", sender, note)

    async def sender_history(self, sender: str, before: int, limit: int = 5) -> dict[str, Any]:
        """The sender's earlier messages (what they were and what became of them) and the team's
        notes about them: the assistant's memory of a person."""
        threads = await self.fetch(
            """SELECT id, subject, category, state, received_at FROM messages
               WHERE sender = %s AND id < %s ORDER BY id DESC LIMIT %s""",
            sender, before, limit,
        )  # fmt: skip
        notes = await self.fetch(
            "SELECT note, at FROM sender_notes WHERE sender = %s ORDER BY id DESC LIMIT %s", sender, limit
        )
        return json.loads(json.dumps({"earlier_messages": threads, "notes": notes}, default=str))

    async def free_slots(self, limit: int = 4) -> list[str]:
        rows = await self.fetch(
            "SELECT starts_at FROM calendar_slots WHERE NOT booked AND starts_at > now() ORDER BY starts_at LIMIT %s",
            limit,
        )
        return [row["starts_at"].strftime("%A %d %B, %H:%M UTC") for row in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.fetch("SELECT state, count(*) AS n FROM messages GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
