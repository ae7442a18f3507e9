"""Project 07 in local mode: Redis, S3 (SeaweedFS), llama.cpp serving Gemma 3 270M at the chosen
precision, then the API and one document worker (more on demand: ``stack.start_worker()``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from study.llm_local import LocalLlamaCpp
from study.processes import ManagedProcess, free_port
from study.redis_local import LocalRedis
from study.s3_local import ACCESS_KEY, SECRET_KEY, LocalS3
from study.service import Report, port_of, start_api

from .models import gguf, model_version

# The precision the quality gate chose: q8_0 is within 1 chrF point of f32 on the held-out set
# (docs/projects/07-translation, "Quantisation"); the benchmark re-checks it on every run.
PRECISION = "q8_0"


@dataclass
class Stack:
    redis: LocalRedis
    s3: LocalS3
    llm: LocalLlamaCpp
    run_dir: Path
    env: dict[str, str]
    port: int | None = None
    host: str = "127.0.0.1"
    service: ManagedProcess | None = None
    workers: list[ManagedProcess] = field(default_factory=list)
    workers_started: int = 0  # names each new worker: worker-1, worker-2, ...
    scalers: list[ManagedProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.service is not None
        return self.service.url

    def start_service(self) -> None:
        self.service = start_api("translation API", "translation", self.env, self.run_dir, self.port, self.host)
        self.port = port_of(self.service)

    def start_worker(self, wait: bool = True, **env: str) -> ManagedProcess:
        """One more document worker, with its own name (its processing list) and metrics port."""
        self.workers_started += 1
        name = f"worker-{self.workers_started}"
        worker = ManagedProcess(
            f"translation {name}",
            [sys.executable, "-m", "translation.worker"],
            self.run_dir / "logs" / f"{name}.log",
            env={
                **self.env,
                "TRANSLATION_WORKER_NAME": name,
                "TRANSLATION_WORKER_METRICS_PORT": str(free_port()),
                "TRANSLATION_WORKER_METRICS_HOST": "127.0.0.1",
                **env,
            },
        )
        worker.start()
        self.workers.append(worker)
        if wait:
            worker.wait_until(lambda: "ready" in worker.log_tail(50), 60, "taking jobs from the queue")
        return worker

    def start_scaler(self, **env: str) -> ManagedProcess:
        """Scale to zero instead of fixed workers: scaler.py starts workers when jobs wait, and each
        stops itself when idle (its log goes to the scaler's)."""
        scaler = ManagedProcess(
            "translation scaler",
            [sys.executable, "-m", "translation.scaler"],
            self.run_dir / "logs" / "scaler.log",
            env={**self.env, "TRANSLATION_WORKER_NAME": "scaled", **env},
        )
        scaler.start()
        scaler.wait_until(lambda: "scaler ready" in scaler.log_tail(20), 30, "watching the queue")
        self.scalers.append(scaler)
        return scaler

    def stop(self) -> None:
        for process in [*self.scalers, *self.workers, self.service]:
            if process is not None:
                process.stop()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics (API)": f"{self.url}/metrics",
            "S3 (SeaweedFS)": self.s3.url,
            "LLM (Gemma)": self.llm.base_url,
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    service_env: dict[str, str] | None = None,
    precision: str = PRECISION,
    workers: int = 1,
) -> Iterator[Stack]:
    """Every backend as a process, then the API and ``workers`` document workers; all stopped on exit."""
    model = gguf(precision, report)
    with ExitStack() as cleanup:
        redis = LocalRedis(run_dir / "redis", persistent=True)  # the job queue survives a restart
        redis.start()
        cleanup.callback(redis.stop)
        s3 = LocalS3(run_dir / "s3")
        report("starting S3 (SeaweedFS)")
        s3.start()
        cleanup.callback(s3.stop)
        llm = LocalLlamaCpp(run_dir / "logs" / "llama.cpp.log", model=model)
        report(f"starting llama.cpp's server with Gemma 3 270M ({precision})")
        llm.start(report)
        cleanup.callback(llm.stop)
        env = {
            "TRANSLATION_REDIS_URL": redis.url,
            "TRANSLATION_S3_ENDPOINT_URL": s3.url,
            "TRANSLATION_S3_ACCESS_KEY": ACCESS_KEY,
            "TRANSLATION_S3_SECRET_KEY": SECRET_KEY,
            "TRANSLATION_LLM_BASE_URL": llm.base_url,
            "TRANSLATION_LLM_MODEL_VERSION": model_version(precision, model),
            **(service_env or {}),
        }
        stack = Stack(redis, s3, llm, run_dir, env, port, host)
        cleanup.callback(stack.stop)
        report("starting the API and the document worker")
        stack.start_service()
        for _ in range(workers):
            stack.start_worker()
        yield stack


# --8<-- [end:stack]
