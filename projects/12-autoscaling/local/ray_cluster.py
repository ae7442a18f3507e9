"""A one-node Ray cluster as a local process (``ray start --head --block``), and the LLM deployment
put on it by the package's own deploy command, as compose and KubeRay do."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from autoscaling.settings import ReplicaSettings, ScalingPolicy
from study.errors import StudyError
from study.llm_local import MODEL_ALIAS, llamacpp_command, llamacpp_environment
from study.processes import LocalServer, ManagedProcess, free_port


def llamacpp_replica(report=print, threads: int = 1) -> ReplicaSettings:
    """A replica that runs llama.cpp's OpenAI server with SmolLM2-135M (the course's local LLM)."""
    command = llamacpp_command(llamacpp_environment(report), "{port}", threads, n_ctx=2048)
    return ReplicaSettings(command=command, model=MODEL_ALIAS, num_cpus=0.5)


@dataclass
class LocalRay(LocalServer):
    data_dir: Path
    cpus: int = 2
    gcs_port: int = field(default_factory=free_port)
    serve_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(32))  # Ray's token authentication
    process: ManagedProcess | None = None

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to join this cluster: its token, and no usage reporting."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token, "RAY_USAGE_STATS_ENABLED": "0"}

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

    def deploy(self, policy: ScalingPolicy, replica: ReplicaSettings) -> None:
        """(Re)deploy the LLM deployment; returns once Serve's proxy answers."""
        done = subprocess.run(
            [sys.executable, "-m", "autoscaling.deploy", "--address", self.address, "--http-port", str(self.serve_port),
             "--policy", policy.model_dump_json(), "--replica", replica.model_dump_json()],
            capture_output=True, text=True, timeout=300, env={**os.environ, **self.env},
        )  # fmt: skip
        if done.returncode != 0:
            raise StudyError(f"deploying the LLM on Ray Serve failed:\n{done.stderr[-3000:]}")
        assert self.process is not None
        self.process.wait_until(self._proxy_up, 60, "Serve's proxy answering")

    def _proxy_up(self) -> bool:
        try:
            return httpx.get(f"{self.serve_url}/-/routes", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_monitor(self, out: Path) -> ManagedProcess:
        monitor = ManagedProcess(
            "replica monitor",
            [sys.executable, str(Path(__file__).with_name("monitor.py")), self.address, str(out)],
            self.data_dir / "monitor.log",
            env=self.env,
        )
        monitor.start()
        return monitor
