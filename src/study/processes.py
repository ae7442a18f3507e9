"""Child processes the harness starts (Triton, the service) and always stops, even on Ctrl-C."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from study.errors import StudyError


def installed(binary: str, debian_package: str) -> str:
    """The path of a server binary the harness runs, or an error that says how to install it.
    Debian puts some daemons (mosquitto) in /usr/sbin, which is not on every user's PATH."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if path is None:
        raise StudyError(f"{binary} is not installed. Debian/Ubuntu: sudo apt-get install {debian_package}")
    return path


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A port that is free now and that this process has not handed out before: once a probe
    socket closes, the OS may offer its port to the next bind(0) again, and one server given the
    same port twice (Triton's gRPC and metrics ports) does not start."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: its children, theirs, and so on (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = [int(child) for child in (task / "children").read_text().split()]
                found += children
                pending += children
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited meanwhile
    return found


def resident_mb(pid: int) -> float:
    """Resident memory of a process and of all its descendants, in MiB (Linux /proc). Triton, for
    one, runs a stub process per model: the server's own number is not what it costs."""
    total = 0.0
    for current in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{current}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue  # it exited meanwhile
    return total


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the harness dies, so nothing is left orphaned."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ManagedProcess:
    """One server process in its own process group, logging to a file (``url``: where it serves)."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        url: str = "",
        user: str | None = None,
    ):
        self.name, self.cmd, self.log_path, self.url = name, cmd, log_path, url
        self.env = {**os.environ, **(env or {})}
        self.user = user  # run as this system user (a server that refuses root, started by root)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            user=self.user,
            group=self.user,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_until(self, check: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``check`` until it passes; on failure, timeout or Ctrl-C, stop the process first."""
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                if not self.running:
                    raise StudyError(
                        f"{self.name} exited before it was {what}; see {self.log_path}:\n{self.log_tail()}"
                    )
                if check():
                    return
                time.sleep(0.1)
            raise StudyError(
                f"{self.name} was not {what} after {timeout_s:.0f} s; see {self.log_path}:\n{self.log_tail()}"
            )
        except BaseException:
            self.stop()
            raise

    def wait_http_ok(self, url: str, timeout_s: float) -> None:
        def ok() -> bool:
            try:
                return httpx.get(url, timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        self.wait_until(ok, timeout_s, f"ready at {url}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the whole group, SIGKILL what is left after ``timeout_s``."""
        if self.proc is None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait()
        self._signal(signal.SIGKILL)  # stragglers in the group (e.g. Triton's python stubs)

    def kill(self) -> None:
        """SIGKILL at once: what a crash looks like to everything that talks to this process."""
        if self.proc is not None:
            self._signal(signal.SIGKILL)
            self.proc.wait()

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


class LocalServer:
    """Mixin for the harness's server wrappers: each holds its ``process`` (a ManagedProcess)."""

    process: ManagedProcess | None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        """SIGKILL: how a crash looks to the service that depends on this server."""
        if self.process is not None:
            self.process.kill()
