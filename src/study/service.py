"""What every project's local recipe does the same way: report progress, and start the FastAPI
service under uvicorn as a child process, ready when its readiness probe says so."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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
    returns once ``/health/ready`` answers 200."""
    port = port or free_port()
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
            str(port),
            "--no-access-log",
        ],
        run_dir / "logs" / "api.log",
        env=env,
        url=f"http://{host}:{port}",
    )
    service.start()
    service.wait_http_ok(f"{service.url}/health/ready", timeout_s=ready_timeout_s)
    return service
