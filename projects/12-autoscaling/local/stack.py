"""Project 12 in local mode: a one-node Ray cluster, the LLM deployment on Ray Serve (each replica
runs llama.cpp with SmolLM2-135M, one thread), a monitor of its replicas, and the router."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from autoscaling.settings import ReplicaSettings, ScalingPolicy
from study.processes import ManagedProcess
from study.service import Report, start_api

from .ray_cluster import LocalRay, llamacpp_replica

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Shorter than production's so that the tests see a scale-down within a minute.
LOCAL_POLICY = ScalingPolicy(
    min_replicas=0,
    max_replicas=2,
    target_ongoing_requests=2,
    max_ongoing_requests=2,
    max_queued_requests=8,
    upscale_delay_s=1,
    downscale_delay_s=10,
    downscale_to_zero_delay_s=15,
)


@dataclass
class Stack:
    ray: LocalRay
    service: ManagedProcess
    monitor: ManagedProcess
    replica: ReplicaSettings
    policy: ScalingPolicy
    run_dir: Path

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def replicas_file(self) -> Path:
        return self.run_dir / "replicas.jsonl"

    def replicas(self) -> dict[str, int]:
        """The latest replica counts by state, as the monitor saw them (at most a second old)."""
        lines = self.replicas_file.read_text().splitlines() if self.replicas_file.exists() else []
        return json.loads(lines[-1])["replicas"] if lines else {}

    def running(self) -> int:
        return int(self.replicas().get("RUNNING", 0))

    def redeploy(self, policy: ScalingPolicy | None = None, replica: ReplicaSettings | None = None) -> None:
        """Deploy again with another policy or replica (Serve replaces the replicas in place)."""
        self.ray.deploy(policy or self.policy, replica or self.replica)
        self.policy, self.replica = policy or self.policy, replica or self.replica

    def restart_head(self) -> None:
        """Ray's head process stopped and started again. Without an external store for its state
        (GCS fault tolerance, Redis), the cluster comes back empty: the deployment is put on again,
        as KubeRay's RayService does."""
        self.monitor.stop()
        self.ray.stop()
        self.ray.start()
        self.ray.deploy(self.policy, self.replica)
        self.monitor = self.ray.start_monitor(self.replicas_file)

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "Ray Serve (the LLM deployment)": self.ray.serve_url,
            "replicas over time": str(self.replicas_file),
        }


def start_router(ray: LocalRay, run_dir: Path, port: int | None = None, host: str = "127.0.0.1") -> ManagedProcess:
    # A cold start takes about ten seconds here: a minute is the most a request waits for a replica
    # (a deployment whose replicas cannot start keeps requests queued until then).
    env = {"AUTOSCALING_LLM_URL": ray.serve_url, "AUTOSCALING_REQUEST_TIMEOUT_S": "60"}
    return start_api("autoscaling router", "autoscaling", env, run_dir, port, host)


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    policy: ScalingPolicy = LOCAL_POLICY,
) -> Iterator[Stack]:
    replica = llamacpp_replica(report)
    with ExitStack() as cleanup:
        report("starting a one-node Ray cluster")
        ray = LocalRay(run_dir / "ray")
        ray.start()
        cleanup.callback(ray.stop)
        report("deploying the LLM on Ray Serve (no replica until a request comes)")
        ray.deploy(policy, replica)
        monitor = ray.start_monitor(run_dir / "replicas.jsonl")
        cleanup.callback(monitor.stop)
        report("starting the router")
        service = start_router(ray, run_dir, port, host)
        stack = Stack(ray, service, monitor, replica, policy, run_dir)
        cleanup.callback(lambda: stack.service.stop())
        deadline = time.monotonic() + 30
        while not stack.replicas_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        yield stack


# --8<-- [end:stack]
