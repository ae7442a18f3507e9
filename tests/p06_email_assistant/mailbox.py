"""Writing email as a mail client does, uploading it, and waiting for the worker: what project 06's
tests share."""

from __future__ import annotations

import itertools
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from email_assistant.store import IN_PROGRESS

_senders = itertools.count(1)

QUESTION = (
    "Dynamic batching delay for a latency SLO?",
    "Hi team,\n\nI'm working through the Triton chapter. We have a p99 target of 150 ms for an image model.\n"
    "How should I choose max_queue_delay_microseconds so that batching helps without blowing the SLO?\n\n"
    "Thanks,\nPriya",
)
NEWSLETTER = (
    "Growth hacks #12: ten tricks for SaaS founders",
    "This week's newsletter: ten growth hacks, our webinar schedule and a discount code. Unsubscribe at any time.",
)


def write_mail(subject: str, body: str, sender: str | None = None, **headers: str) -> bytes:
    """A plain-text message with a fresh Message-ID and, unless given, a sender of its own (the
    tests must not run into the per-sender limit by accident)."""
    message = EmailMessage()
    message["From"] = sender or f"Reader {next(_senders)} <reader{uuid.uuid4().hex[:8]}@example.org>"
    message["To"] = "team@course.example"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)  # CRLF line ends, as mail travels


def upload(client: httpx.Client, raw: bytes) -> dict:
    response = client.post("/v1/messages", content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code == 202, response.text
    return response.json()


def wait_until_done(
    client: httpx.Client, message: int, timeout_s: float = 180, busy: frozenset | set = IN_PROGRESS
) -> dict:
    """Poll the message until the worker is done with it (a draft waiting, filed, sent, ...)."""
    deadline = time.monotonic() + timeout_s
    while True:
        row = client.get(f"/v1/messages/{message}").json()
        if row["state"] not in busy or time.monotonic() > deadline:
            return row
        time.sleep(0.25)


def nodes(client: httpx.Client, message: int) -> list[str]:
    return [step["node"] for step in client.get(f"/v1/messages/{message}/trace").json()["steps"]]
