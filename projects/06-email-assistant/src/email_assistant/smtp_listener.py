"""The inbound SMTP listener (aiosmtpd), run inside the API process on its event loop: mail that
arrives here is accepted exactly as a raw upload to POST /v1/messages is.

The SMTP reply codes carry the promise "nothing accepted is dropped": 250 only after the message's
row is committed; 451 (a temporary failure: the sending server keeps the message and tries again)
when PostgreSQL or Redis is down; 5xx only for mail that will never be readable."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import redis.exceptions
from aiosmtpd.smtp import SMTP, Envelope, Session
from psycopg_pool import PoolTimeout

from email_assistant import metrics
from email_assistant.intake import Intake, MessageTooLarge
from email_assistant.mail import UnreadableMail

log = logging.getLogger(__name__)


# --8<-- [start:handler]
class IntakeHandler:
    def __init__(self, intake: Intake):
        self.intake = intake

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            accepted = await self.intake.accept(raw, "smtp")
        except MessageTooLarge:
            metrics.ACCEPTED.labels("smtp", "refused").inc()
            return "552 5.3.4 Message too big"
        except UnreadableMail as exc:
            metrics.ACCEPTED.labels("smtp", "refused").inc()
            return f"550 5.6.0 {exc}"
        except (psycopg.OperationalError, PoolTimeout, redis.exceptions.ConnectionError) as exc:
            log.warning("cannot accept mail now: %s", exc)
            return "451 4.3.0 Cannot store the message now; try again later"
        return f"250 2.0.0 Accepted as message {accepted.message}"


# --8<-- [end:handler]


async def start_listener(intake: Intake, host: str, port: int, max_bytes: int, hostname: str) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = IntakeHandler(intake)
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_bytes, hostname=hostname, enable_SMTPUTF8=True, loop=loop),
        host=host,
        port=port,
    )
