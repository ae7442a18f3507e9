"""The pieces without a server: MIME in, threading out, redaction, the graph's routes, the decision
body's rules, the classifier's training."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from email_assistant.api.schemas import Decision
from email_assistant.classifier import TriageModel, train
from email_assistant.graph import after_approval, after_choice, after_tool, after_triage
from email_assistant.mail import TEXT_MAX_CHARS, UnreadableMail, parse, reply, reply_id, without_quotes
from email_assistant.redaction import redact, redact_all
from email_assistant.steps import compose_draft

THREADED = b"""From: Ana Silva <Ana.Silva@Example.org>
Subject: Re: batching
Message-ID: <m2@example.org>
In-Reply-To: <m1@course.example>
References: <m0@example.org> <m1@course.example>

Thanks, that fixed it.

On Mon, 1 Dec 2026 at 10:00, Team <team@course.example> wrote:
> Try a smaller max_queue_delay_microseconds.
"""


def test_a_reply_keeps_the_thread_and_a_fixed_message_id():
    mail = parse(THREADED)
    assert (mail.sender, mail.text, mail.in_reply_to) == (
        "ana.silva@example.org",
        "Thanks, that fixed it.",
        "<m1@course.example>",
    )
    message = reply(mail, "Glad it works.", "Team <team@course.example>", reply_id(7, "course.example"))
    assert message["Subject"] == "Re: batching"  # not "Re: Re:"
    assert message["In-Reply-To"] == "<m2@example.org>"
    assert message["References"] == "<m0@example.org> <m1@course.example> <m2@example.org>"
    assert message["Message-ID"] == "<reply-7@course.example>"


def test_quoted_history_in_outlook_style_is_cut_too():
    assert without_quotes("Yes.\n\n-----Original Message-----\nFrom: x") == "Yes."


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00garbage", b"Subject: no sender\n\nbody", b"From: a@b.example\n\nx"])
def test_mail_without_sender_or_message_id_is_unreadable(raw):
    with pytest.raises(UnreadableMail):
        parse(raw)


HEADERS = st.sampled_from(["From", "Subject", "Message-ID", "Content-Type", "Content-Transfer-Encoding", "References"])
RAW_MAIL = st.one_of(
    st.binary(max_size=2000),
    st.builds(
        lambda headers, body: ("\r\n".join(f"{k}: {v}" for k, v in headers) + "\r\n\r\n" + body).encode(
            "utf-8", "surrogatepass"
        ),
        st.lists(st.tuples(HEADERS, st.text(max_size=60)), max_size=8),
        st.text(max_size=400),
    ),
)


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(RAW_MAIL)
def test_any_bytes_are_read_or_refused_as_unreadable_never_a_crash(raw):
    """What POST /v1/messages and the SMTP listener do with whatever arrives (the API fuzzer
    cannot generate raw mail): a message, or UnreadableMail (a 422, an SMTP 550)."""
    try:
        mail = parse(raw)
    except UnreadableMail:
        return
    assert "@" in mail.sender and mail.message_id and len(mail.text) <= TEXT_MAX_CHARS


def test_very_long_text_is_cut_and_flagged():
    mail = parse(b"From: a@example.org\nMessage-ID: <long@example.org>\n\n" + b"word " * 10_000)
    assert len(mail.text) == 20_000 and mail.flags == ["truncated"]


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("card 4111 1111 1111 1111 was charged", "card [card number] was charged"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
        ("my password is hunter2, thanks", "my password is [secret] thanks"),
        ("api_key: sk-abc123", "api_key: [secret]"),
        ("invoice INV-2231 of EUR 1,450.00", "invoice INV-2231 of EUR 1,450.00"),
    ],
)
def test_redaction(text, kept):
    assert redact(text) == kept


def test_redaction_reaches_nested_values():
    assert redact_all({"a": ["token=abc"], "n": 3}) == {"a": ["token=[secret]"], "n": 3}


@pytest.mark.parametrize(
    ("route", "state", "next_node"),
    [
        (after_triage, {"category": "spam"}, "file"),
        (after_triage, {"category": "thanks"}, "file"),
        (after_triage, {"category": "billing"}, "extract"),
        (after_choice, {"tool": "none"}, "draft"),
        (after_choice, {"tool": "check_calendar"}, "run_tool"),
        (after_tool, {"tool": "escalate"}, "escalated"),
        (after_tool, {"tool": "search_course"}, "draft"),
        (after_approval, {"decision": {"action": "edit"}}, "send"),
        (after_approval, {"decision": {"action": "reject"}}, "rejected"),
    ],
)
def test_graph_routes(route, state, next_node):
    assert route(state) == next_node


def test_a_draft_gets_its_greeting_and_signature_from_code():
    assert compose_draft("Ana Silva", " The answer.\n") == "Hello Ana,\n\nThe answer.\n\nThe course team"
    assert compose_draft("", "").startswith("Hello,\n\nThank you for your email")


def test_a_decision_carries_a_body_only_when_edited_and_a_reason_only_when_rejected():
    assert Decision(action="edit", body="new text").body == "new text"
    for wrong in ({"action": "edit"}, {"action": "reject"}, {"action": "approve", "reason": "x"}):
        with pytest.raises(ValidationError):
            Decision(**wrong)


def test_the_classifier_learns_from_labelled_examples():
    examples = [
        {"subject": s, "body": b, "labels": {"category": c, "urgency": u}}
        for s, b, c, u in [
            ("Invoice", "please refund the invoice charge", "billing", "high"),
            ("Refund", "charged twice on my card, refund please", "billing", "high"),
            ("Meeting", "can we meet on Tuesday afternoon", "meeting", "normal"),
            ("Call", "book a call next week to meet", "meeting", "normal"),
        ]
    ]
    model = TriageModel(train(examples))
    found = model.predict("Refund", "the invoice was charged twice")
    assert (found.category, found.urgency) == ("billing", "high") and 0.5 < found.confidence <= 1
