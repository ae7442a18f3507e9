"""Reading inbound mail (RFC 5322 / MIME) into what the assistant works on, and writing replies
that thread correctly. Python's own email package does the parsing; this module decides what to
keep: the text a person wrote (not the quoted history), the attachments' names (never their
content), and whether anything was suspicious."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart
from email.utils import parseaddr

QUOTE_START = re.compile(r"^(>|On .{5,120} wrote:$|-----Original Message-----)", re.MULTILINE)
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.DOTALL | re.IGNORECASE)


class UnreadableMail(ValueError):
    """Not an email this service can read (no sender, no Message-ID, not MIME at all)."""


@dataclass
class InboundMail:
    message_id: str
    sender: str  # the address, lower-cased
    sender_name: str
    subject: str
    text: str  # what this message says, without the quoted history
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # file names only
    flags: list[str] = field(default_factory=list)  # e.g. "html-only", "undecodable-charset"


def _text_of(message: EmailMessage, flags: list[str]) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        part = message.get_body(preferencelist=("html",))
        if part is None:
            return ""
        flags.append("html-only")
        return html.unescape(TAGS.sub(" ", _decoded(part, flags)))
    return _decoded(part, flags)


def _decoded(part: MIMEPart, flags: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        flags.append("undecodable-charset")
        return payload.decode("utf-8", errors="replace")


def without_quotes(text: str) -> str:
    """The part of a reply above the first quoted line or "On ... wrote:"."""
    match = QUOTE_START.search(text)
    kept = text[: match.start()] if match else text
    return re.sub(r"\n{3,}", "\n\n", kept).strip()


TEXT_MAX_CHARS = 20_000  # what the model is shown at most; longer text is cut and flagged


def parse(raw: bytes) -> InboundMail:
    """What the assistant needs from a raw message, or UnreadableMail. Damaged MIME that Python can
    still read (defects, an unknown charset) is kept and flagged, never a crash."""
    try:
        return _parse(raw)
    except UnreadableMail:
        raise
    except Exception as exc:  # the email package raises many types on hostile input
        raise UnreadableMail(f"cannot read this message: {type(exc).__name__}") from None


def _parse(raw: bytes) -> InboundMail:
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):
        raise UnreadableMail("not a MIME message")
    flags: list[str] = ["malformed-mime"] if message.defects else []
    name, sender = parseaddr(str(message.get("From", "")))
    message_id = str(message.get("Message-ID", "")).strip()
    if not sender or "@" not in sender:
        raise UnreadableMail("no sender address in From")
    if not message_id:
        raise UnreadableMail("no Message-ID")
    attachments = [part.get_filename() or "unnamed" for part in message.iter_attachments()]
    references = re.findall(r"<[^<>\s]+>", str(message.get("References", "")))
    in_reply_to = str(message.get("In-Reply-To", "")).strip() or None
    text = without_quotes(_text_of(message, flags))
    if len(text) > TEXT_MAX_CHARS:
        text, flags = text[:TEXT_MAX_CHARS], [*flags, "truncated"]
    return InboundMail(
        message_id=message_id[:300],
        sender=sender.lower(),
        sender_name=name[:200],
        subject=str(message.get("Subject", "")).strip()[:500],
        text=text,
        in_reply_to=in_reply_to,
        references=references,
        attachments=attachments,
        flags=flags,
    )


def reply_id(message: int, domain: str) -> str:
    """The reply's Message-ID, fixed by the message it answers: if a crash makes the worker send it
    again, the copy carries the same id, and mail systems drop it as a duplicate."""
    return f"<reply-{message}@{domain}>"


def reply(to: InboundMail, body: str, from_address: str, message_id: str) -> EmailMessage:
    """A reply that mail clients put in the same thread: Re: subject, In-Reply-To and References."""
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = f"{to.sender_name} <{to.sender}>" if to.sender_name else to.sender
    message["Subject"] = to.subject if to.subject.lower().startswith("re:") else f"Re: {to.subject}"
    message["Message-ID"] = message_id
    message["In-Reply-To"] = to.message_id
    message["References"] = " ".join([*to.references, to.message_id])
    message.set_content(body)
    return message
