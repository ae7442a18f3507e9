"""The harness's SMTP relay (used by project 06): a real SMTP server on a free port that keeps every
message as it arrived, envelope and headers included."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from study.smtp_local import LocalSmtpSink


def test_a_sent_message_arrives_whole_with_its_threading_headers(tmp_path):
    sink = LocalSmtpSink(tmp_path)
    sink.start()
    try:
        message = EmailMessage()
        message["From"] = "Course team <team@course.example>"
        message["To"] = "José Pérez <jose@example.com>"
        message["Subject"] = "Re: Pregunta sobre Triton"
        message["Message-ID"] = "<reply-1@course.example>"
        message["In-Reply-To"] = "<abc123@example.com>"
        message.set_content("Hola José: dynamic batching se configura en config.pbtxt.")
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            smtp.send_message(message)
        (received,) = sink.received()
        assert received["In-Reply-To"] == "<abc123@example.com>" and received["To"] == "José Pérez <jose@example.com>"
        assert received.get_content().strip() == "Hola José: dynamic batching se configura en config.pbtxt."
    finally:
        sink.stop()
