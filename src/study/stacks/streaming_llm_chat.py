"""Project 02 in local mode: Redis, llama.cpp's OpenAI-compatible server, then the chat API."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from study.errors import StudyError
from study.gguf_tokenizer import write_tokenizer_json
from study.llm_local import LocalLlamaCpp, LocalVllm, llamacpp_environment, smollm2_gguf
from study.paths import cache_dir
from study.processes import ManagedProcess, free_port
from study.redis_local import LocalRedis

Report = Callable[[str], None]


def ensure_tokenizer(report: Report = print) -> Path:
    """SmolLM2's tokenizer, rebuilt once from the GGUF file the LLM server loads."""
    target = cache_dir() / "models" / "smollm2-135m-instruct" / "tokenizer.json"
    if not target.exists():
        report("extracting the model's tokenizer from its GGUF file")
        write_tokenizer_json(smollm2_gguf(llamacpp_environment(report)), target)
    return target


@dataclass
class ChatStack:
    redis: LocalRedis
    llm: LocalLlamaCpp | LocalVllm  # the first replica
    run_dir: Path
    service_env: dict[str, str]
    port: int = field(default_factory=free_port)
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
        env = {"CHAT_LLM_BASE_URL": self.llm.base_url, "CHAT_REDIS_URL": self.redis.url,
               "CHAT_LLM_REPLICA_URLS": json.dumps([replica.base_url for replica in self.more_replicas]),
               "CHAT_TOKENIZER_FILE": str(ensure_tokenizer()), **self.service_env}
        self.service = ManagedProcess(
            "streaming-llm-chat API",
            [sys.executable, "-m", "uvicorn", "--factory", "streaming_chat.main:create_app",
             "--host", self.host, "--port", str(self.port), "--no-access-log"],
            self.run_dir / "logs" / "api.log", env=env, url=self.url)
        self.service.start()
        self.service.wait_http_ok(f"{self.url}/health/ready", timeout_s=60)

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()

    def endpoints(self) -> dict[str, str]:
        return {"API docs": f"{self.url}/docs", "metrics": f"{self.url}/metrics",
                "LLM server": self.llm.base_url, "Redis": self.redis.url}


BACKENDS = {"llama.cpp": LocalLlamaCpp, "vllm": LocalVllm}


@contextmanager
def running_stack(run_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                  report: Report = print, service_env: dict[str, str] | None = None,
                  backend: str | None = None, replicas: int = 1) -> Iterator[ChatStack]:
    """Redis and the LLM server, then the chat service; all stopped on exit.
    ``backend``: "llama.cpp" (default; fast start) or "vllm" (production server code, ~1 min start);
    ``study up`` reads it from STUDY_LLM_BACKEND. ``replicas``: how many LLM servers to start."""
    backend = backend or os.environ.get("STUDY_LLM_BACKEND", "llama.cpp")
    if backend not in BACKENDS:
        raise StudyError(f"unknown LLM backend {backend!r}; one of {', '.join(BACKENDS)}")
    redis = LocalRedis(run_dir / "redis")
    # Replicas on one machine split its cores: llama.cpp's threads spin while they wait, and two
    # servers whose threads outnumber the cores slow each other down many times over.
    per_replica = {"threads": max(1, (os.cpu_count() or 2) // replicas)} if backend == "llama.cpp" else {}
    llm, *more = (BACKENDS[backend](run_dir / "logs" / (f"{backend}.log" if i == 0 else f"{backend}-{i}.log"),
                                    **per_replica) for i in range(replicas))
    stack = ChatStack(redis, llm, run_dir, service_env or {}, port=port or free_port(), host=host,
                      more_replicas=more)
    try:
        report("starting Redis")
        redis.start()
        ensure_tokenizer(report)
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
