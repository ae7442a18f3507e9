"""Redis as a local process: Debian's ``redis-server``, no persistence, on a free port."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from study.processes import LocalServer, ManagedProcess, free_port, installed


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class LocalRedis(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)
    persistent: bool = False  # append-only file, fsync every write: what a job queue needs
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = installed("redis-server", "redis-server")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "redis-server",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.data_dir),
                *(["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]),
            ],
            self.data_dir / "redis.log",
        )
        self.process.start()
        self.process.wait_until(lambda: _answers_ping(self.port), 20, f"answering on port {self.port}")
