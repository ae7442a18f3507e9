"""Milvus Lite as a local process: ``python -m milvus_lite server``, the gRPC server pymilvus
otherwise starts inside your own process for a ``.db`` URI. As a separate process it behaves like
Milvus standalone: the service connects to ``http://127.0.0.1:PORT``, and it can be killed."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from study.processes import LocalServer, ManagedProcess, free_port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class LocalMilvus(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (or restart) on the same port and data directory: the collections survive."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            "Milvus Lite",
            [
                sys.executable,
                "-m",
                "milvus_lite",
                "server",
                "--data-dir",
                str(self.data_dir / "milvus"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            self.data_dir / "milvus.log",
        )
        self.process.start()
        self.process.wait_until(lambda: _accepts(self.port), 60, f"listening on port {self.port}")
