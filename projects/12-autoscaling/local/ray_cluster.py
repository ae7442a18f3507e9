"""The one-node Ray cluster (the harness's ``LocalRayCluster``) and the LLM deployment put on it by
the package's own deploy command, as compose and KubeRay do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from autoscaling.settings import ReplicaSettings, ScalingPolicy
from study.errors import StudyError
from study.llm_local import MODEL_ALIAS, llamacpp_command, llamacpp_environment
from study.processes import ManagedProcess
from study.ray_local import LocalRayCluster


def llamacpp_replica(report=print, threads: int = 1) -> ReplicaSettings:
    """A replica that runs llama.cpp's OpenAI server with SmolLM2-135M (the course's local LLM)."""
    command = llamacpp_command(llamacpp_environment(report), "{port}", threads, n_ctx=2048)
    return ReplicaSettings(command=command, model=MODEL_ALIAS, num_cpus=0.5)


class LocalRay(LocalRayCluster):
    """The harness's one-node cluster, with this project's LLM deployment and replica monitor."""

    def deploy(self, policy: ScalingPolicy, replica: ReplicaSettings) -> None:
        """(Re)deploy the LLM deployment; returns once Serve's proxy answers."""
        done = subprocess.run(
            [sys.executable, "-m", "autoscaling.deploy", "--address", self.address, "--http-port", str(self.serve_port),
             "--policy", policy.model_dump_json(), "--replica", replica.model_dump_json()],
            capture_output=True, text=True, timeout=300, env={**os.environ, **self.env},
        )  # fmt: skip
        if done.returncode != 0:
            raise StudyError(f"deploying the LLM on Ray Serve failed:\n{done.stderr[-3000:]}")
        self.wait_serve_up()

    def start_monitor(self, out: Path) -> ManagedProcess:
        monitor = ManagedProcess(
            "replica monitor",
            [sys.executable, str(Path(__file__).with_name("monitor.py")), self.address, str(out)],
            self.data_dir / "monitor.log",
            env=self.env,
        )
        monitor.start()
        return monitor
