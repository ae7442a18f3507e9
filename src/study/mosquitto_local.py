"""An MQTT broker as a local process: Debian's Mosquitto 2, on a free port of 127.0.0.1, with
persistence in its own folder (a persistent session's queued messages survive a broker restart)."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass, field
from pathlib import Path

from study.processes import LocalServer, ManagedProcess, free_port, installed


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class LocalMosquitto(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.data_dir}/\n"
            "max_queued_messages 100000\n"
            "log_dest stdout\n"
            f"user {getpass.getuser()}\n"  # as root, Mosquitto would switch to its own user otherwise
        )
        self.process = ManagedProcess(
            "mosquitto", [installed("mosquitto", "mosquitto"), "-c", str(config)], self.data_dir / "mosquitto.log"
        )
        self.process.start()
        self.process.wait_until(lambda: _accepts(self.port), 20, f"accepting on port {self.port}")
