"""A one-node Ray cluster as a local process (``ray start --head --block``), with token
authentication and no usage reporting; projects deploy their applications on it with Ray Serve."""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from study.processes import LocalServer, ManagedProcess, free_port


@dataclass
class LocalRayCluster(LocalServer):
    data_dir: Path
    cpus: int = 2
    gcs_port: int = field(default_factory=free_port)
    serve_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(32))  # Ray's token authentication
    process: ManagedProcess | None = None

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to join this cluster: its token, and no usage reporting. And no
        packaging of the current folder: a driver started under `uv run` (as every command of this
        course is) would otherwise zip its working directory and upload it to the cluster on each
        ``ray.init`` (Ray's uv integration), the repository or, worse, a folder holding Ray's own
        files, which grows as it is zipped."""
        return {
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": self.token,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
        }

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def serve_url(self) -> str:
        return f"http://127.0.0.1:{self.serve_port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ray = Path(sys.executable).with_name("ray")
        cmd = [str(ray), "start", "--head", "--block", "--port", str(self.gcs_port)]
        cmd += ["--num-cpus", str(self.cpus), "--include-dashboard", "false", "--disable-usage-stats"]
        cmd += ["--temp-dir", str(self.data_dir / "ray"), "--node-ip-address", "127.0.0.1"]
        self.process = ManagedProcess("ray head", cmd, self.data_dir / "ray-head.log", env=self.env)
        self.process.start()
        head = self.process
        head.wait_until(lambda: "Ray runtime started" in head.log_tail(50), 120, "Ray started")

    def stop(self) -> None:
        """``ray start --block`` drains on SIGTERM (up to 30 s) and then stops every Ray process it
        started, some in groups of their own: give it the time, or they outlive it."""
        if self.process is not None:
            self.process.stop(timeout_s=60)

    def wait_serve_up(self, timeout_s: float = 60) -> None:
        """Returns once Serve's HTTP proxy answers (after a deployment)."""
        assert self.process is not None
        self.process.wait_until(self._proxy_up, timeout_s, "Serve's proxy answering")

    def _proxy_up(self) -> bool:
        try:
            return httpx.get(f"{self.serve_url}/-/routes", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
