"""Project 02 in local mode: Redis, an OpenAI-compatible LLM server, then the chat API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from study.llm_local import BACKENDS, LocalLlamaCpp, LocalVllm, choose_backend, smollm2_tokenizer
from study.processes import ManagedProcess
from study.redis_local import LocalRedis
from study.service import Report, port_of, start_api


@dataclass
class Stack:
    redis: LocalRedis
    llm: LocalLlamaCpp | LocalVllm  # the first replica
    run_dir: Path
    service_env: dict[str, str]
    port: int | None = None  # chosen when the API first starts
    host: str = "127.0.0.1"
    service: ManagedProcess | None = None
    more_replicas: list[LocalLlamaCpp | LocalVllm] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def replicas(self) -> list[LocalLlamaCpp | LocalVllm]:
        return [self.llm, *self.more_replicas]

    def start_service(self) -> None:
        env = {
            "STREAMING_LLM_CHAT_LLM_BASE_URL": self.llm.base_url,
            "STREAMING_LLM_CHAT_REDIS_URL": self.redis.url,
            "STREAMING_LLM_CHAT_LLM_REPLICA_URLS": json.dumps([r.base_url for r in self.more_replicas]),
            "STREAMING_LLM_CHAT_TOKENIZER_FILE": str(smollm2_tokenizer()),
            **self.service_env,
        }
        self.service = start_api(
            "streaming-llm-chat API", "streaming_llm_chat", env, self.run_dir, self.port, self.host
        )
        self.port = port_of(self.service)  # a restart keeps the address

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "LLM server": self.llm.base_url,
            "Redis": self.redis.url,
        }


@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    service_env: dict[str, str] | None = None,
    backend: str | None = None,
    replicas: int = 1,
) -> Iterator[Stack]:
    """Redis and the LLM server, then the chat service; all stopped on exit.
    ``backend``: "llama.cpp" (default; fast start) or "vllm" (production server code, ~1 min start);
    ``study up`` reads it from STUDY_LLM_BACKEND. ``replicas``: how many LLM servers to start."""
    backend = choose_backend(backend)
    redis = LocalRedis(run_dir / "redis")
    # Replicas on one machine split its cores: llama.cpp's threads spin while they wait, and two
    # servers whose threads outnumber the cores slow each other down many times over.
    per_replica = {"threads": max(1, (os.cpu_count() or 2) // replicas)} if backend == "llama.cpp" else {}
    llm, *more = (
        BACKENDS[backend](run_dir / "logs" / (f"{backend}.log" if i == 0 else f"{backend}-{i}.log"), **per_replica)
        for i in range(replicas)
    )
    stack = Stack(redis, llm, run_dir, service_env or {}, port=port, host=host, more_replicas=more)
    try:
        report("starting Redis")
        redis.start()
        smollm2_tokenizer(report)
        for replica in stack.replicas:
            report(f"starting the {backend} OpenAI-compatible server (SmolLM2-135M-Instruct)")
            replica.start(report)
        report("starting the FastAPI service")
        stack.start_service()
        yield stack
    finally:
        stack.stop_service()
        for replica in stack.replicas:
            replica.stop()
        redis.stop()
