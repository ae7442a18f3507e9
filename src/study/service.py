"""What every project's local recipe does the same way: report progress, and start the FastAPI
service under uvicorn as a child process, ready when its readiness probe says so."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from study.errors import StudyError
from study.processes import ManagedProcess, free_port

# Seconds an idle keep-alive connection stays open (UVICORN_TIMEOUT_KEEP_ALIVE in the Dockerfile).
# uvicorn's default, 5 s, equals httpx's own idle expiry: a client reusing a connection just as the
# server closes it loses that request with a read error, a few in every few thousand under load.
KEEP_ALIVE_S = 75
Report = Callable[[str], None]  # a recipe says what it is doing with it (`study up` shows a spinner)


def start_api(
    name: str,
    package: str,
    env: dict[str, str],
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    ready_timeout_s: float = 60,
    *,
    app: str | None = None,
    log_name: str = "api.log",
    ready_path: str = "/health/ready",
    prefix: Sequence[str] = (),
    loop: str = "asyncio",
    http: str = "h11",
) -> ManagedProcess:
    """``uvicorn --factory <package>.main:create_app`` (or ``app``) with ``env``, logging to
    run_dir/logs/<log_name>; returns once ``ready_path`` answers 200. ``prefix`` goes before the
    command (``taskset -c 0``: the process on one core). ``loop`` and ``http`` choose uvicorn's
    event loop and HTTP parser (a benchmark compares ``uvloop`` and ``httptools``). With no
    ``port``, a free one is chosen, and chosen again if another process took it before uvicorn could
    bind it (a port found free is only free until someone binds it: outgoing connections draw from
    the same range)."""
    attempts = 1 if port else 3
    for attempt in range(1, attempts + 1):
        chosen = port or free_port()
        command = [sys.executable, "-m", "uvicorn", "--factory", app or f"{package}.main:create_app"]
        # asyncio and h11 unless asked, as in the images: uvloop and httptools, when some package
        # pulls them in (Ray does), would otherwise change every service's loop and HTTP parser.
        command += ["--host", host, "--port", str(chosen), "--no-access-log", "--loop", loop, "--http", http]
        command += ["--timeout-keep-alive", str(KEEP_ALIVE_S)]
        service = ManagedProcess(
            name, [*prefix, *command], run_dir / "logs" / log_name, env=env, url=f"http://{host}:{chosen}"
        )
        service.start()
        try:
            service.wait_http_ok(f"{service.url}{ready_path}", timeout_s=ready_timeout_s)
        except StudyError:
            if attempt < attempts and "address already in use" in service.log_tail(5):
                continue
            raise
        return service
    raise AssertionError("unreachable")


def port_of(service: ManagedProcess) -> int:
    """The port a started service listens on (a stack keeps it, so a restart keeps the address)."""
    return int(service.url.rsplit(":", 1)[1])
