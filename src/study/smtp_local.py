"""An SMTP relay as a local process (study/smtp_sink.py, on aiosmtpd): services send real mail to
it, tests read what arrived."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from study.processes import LocalServer, ManagedProcess, free_port


def _greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            return conn.recv(3) == b"220"
    except OSError:
        return False


@dataclass
class LocalSmtpSink(LocalServer):
    folder: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    def start(self) -> None:
        self.process = ManagedProcess(
            "SMTP sink",
            [sys.executable, "-m", "study.smtp_sink", "--port", str(self.port), "--folder", str(self.folder / "mail")],
            self.folder / "smtp-sink.log",
        )
        self.process.start()
        self.process.wait_until(lambda: _greets(self.port), 30, f"greeting on port {self.port}")

    def received(self) -> list[EmailMessage]:
        """Every message that arrived, oldest first, parsed."""
        files = sorted((self.folder / "mail").glob("*.eml"), key=lambda p: int(p.stem))
        messages = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]
        return [m for m in messages if isinstance(m, EmailMessage)]
