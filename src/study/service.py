"""What every project's local recipe does the same way: report progress, and start the FastAPI
service under uvicorn as a child process, ready when its readiness probe says so."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from study.errors import StudyError
from study.processes import ManagedProcess, free_port

Report = Callable[[str], None]  # a recipe says what it is doing with it (`study up` shows a spinner)


def start_api(
    name: str,
    package: str,
    env: dict[str, str],
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    ready_timeout_s: float = 60,
) -> ManagedProcess:
    """``uvicorn --factory <package>.main:create_app`` with ``env``, logging to run_dir/logs/api.log;
    returns once ``/health/ready`` answers 200. With no ``port``, a free one is chosen, and chosen
    again if another process took it before uvicorn could bind it (a port found free is only free
    until someone binds it: outgoing connections draw from the same range)."""
    attempts = 1 if port else 3
    for attempt in range(1, attempts + 1):
        chosen = port or free_port()
        service = ManagedProcess(
            name,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                f"{package}.main:create_app",
                "--host",
                host,
                "--port",
                str(chosen),
                "--no-access-log",
            ],
            run_dir / "logs" / "api.log",
            env=env,
            url=f"http://{host}:{chosen}",
        )
        service.start()
        try:
            service.wait_http_ok(f"{service.url}/health/ready", timeout_s=ready_timeout_s)
        except StudyError:
            if attempt < attempts and "address already in use" in service.log_tail(5):
                continue
            raise
        return service
    raise AssertionError("unreachable")


def port_of(service: ManagedProcess) -> int:
    """The port a started service listens on (a stack keeps it, so a restart keeps the address)."""
    return int(service.url.rsplit(":", 1)[1])
