"""Hostile and broken mail gets a clear answer and never crashes anything: unreadable mail is
refused (HTTP 422, SMTP 550), oversized mail too (413, 552); damaged but readable MIME is accepted
and flagged; a malformed decision is a 422, an unknown message a 404."""

from __future__ import annotations

import smtplib

import pytest

from p06_email_assistant.mailbox import upload, wait_until_done
from problem_details import assert_problem

RAW = {"Content-Type": "message/rfc822"}
HTML_ONLY_WITH_ATTACHMENT = b"""From: =?utf-8?q?Jos=C3=A9_P=C3=A9rez?= <jose@example.org>
Subject: =?utf-8?b?UHJlZ3VudGEgc29icmUgVHJpdG9u?=
Message-ID: <html-only-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="B"

--B
Content-Type: text/html; charset=iso-8859-1

<p>Hola, &iquest;c\xf3mo configuro el batching?</p><script>alert(1)</script>
--B
Content-Type: application/pdf
Content-Disposition: attachment; filename="log.pdf"

JVBERi0=
--B--
"""
UNKNOWN_CHARSET = b"""From: someone@example.org
Subject: strange
Message-ID: <charset-1@example.org>
Content-Type: text/plain; charset=x-no-such-charset

caf\xe9 au lait
"""
BROKEN_MULTIPART = b"""From: someone@example.org
Subject: broken
Message-ID: <broken-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="NEVER-USED"

this body has no parts at all
"""


@pytest.mark.parametrize(
    "raw",
    [b"", b"hello, this is not an email", b"Subject: no sender\n\nbody", b"From: a@example.org\n\nno Message-ID"],
    ids=["empty", "plain-text", "no-sender", "no-message-id"],
)
def test_unreadable_mail_is_a_422(client, raw):
    assert_problem(client.post("/v1/messages", content=raw, headers=RAW), 422, "unreadable-mail")


def test_oversized_mail_is_a_413(client, mail):
    raw = mail("big", "x" * (1024 * 1024 + 10))
    assert_problem(client.post("/v1/messages", content=raw, headers=RAW), 413, "payload-too-large")


def test_html_only_mail_with_an_attachment_is_read_and_the_attachment_only_listed(client):
    accepted = upload(client, HTML_ONLY_WITH_ATTACHMENT)
    message = client.get(f"/v1/messages/{accepted['id']}").json()
    assert (message["sender_name"], message["subject"]) == ("José Pérez", "Pregunta sobre Triton")
    assert message["body"] == "Hola, ¿cómo configuro el batching?" and "alert" not in message["body"]
    assert message["attachments"] == ["log.pdf"] and message["flags"] == ["html-only"]
    wait_until_done(client, accepted["id"])


@pytest.mark.parametrize(
    ("raw", "flag"), [(UNKNOWN_CHARSET, "undecodable-charset"), (BROKEN_MULTIPART, "malformed-mime")]
)
def test_damaged_mail_is_accepted_and_flagged(client, raw, flag):
    accepted = upload(client, raw)
    assert flag in client.get(f"/v1/messages/{accepted['id']}").json()["flags"]
    assert wait_until_done(client, accepted["id"])["state"] not in {"queued", "working"}


def smtp_answer(port: int, raw: bytes) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("someone@example.org")
        smtp.rcpt("team@course.example")
        code, _ = smtp.data(raw)
    return code


def test_smtp_refuses_unreadable_and_oversized_mail(stack, mail):
    assert smtp_answer(stack.smtp_port, b"Subject: no sender, no id\r\n\r\nhello") == 550
    oversized = mail("big", ("x" * 70 + "\n") * 16_000)  # lines of a legal length, 1.1 MB in all
    assert smtp_answer(stack.smtp_port, oversized) == 552


@pytest.mark.parametrize(
    "decision",
    [
        {"action": "send-it-all"},
        {"action": "edit"},
        {"action": "reject"},
        {"action": "approve", "body": "not with approve"},
        {"action": "approve", "extra": 1},
        {"action": "edit", "body": ""},
    ],
)
def test_a_malformed_decision_is_a_422(client, decision):
    assert_problem(client.post("/v1/approvals/1", json=decision), 422, "validation-error")


def test_unknown_messages_are_404(client):
    assert_problem(client.get("/v1/messages/999999999"), 404, "not-found")
    assert_problem(client.get("/v1/messages/999999999/trace"), 404, "not-found")
    assert_problem(client.post("/v1/approvals/999999999", json={"action": "approve"}), 404, "not-found")
