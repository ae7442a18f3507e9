"""Project 03 in local mode: the embedding model on Triton (CPU), Milvus Lite, an LLM server, the
service, and the course indexed into it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from study.environments import ensure_environment, run_in_environment
from study.errors import StudyError
from study.llm_local import BACKENDS, LocalLlamaCpp, LocalVllm, choose_backend
from study.milvus_local import LocalMilvus
from study.paths import REPO_ROOT, cache_dir
from study.processes import ManagedProcess
from study.service import Report, port_of, start_api
from study.triton_local import LocalTriton, build_cpu_repository

PROJECT_DIR = Path(__file__).resolve().parents[1]
MODEL_BUILD_DIR = PROJECT_DIR / "model_build"
EVALUATION_SET = PROJECT_DIR / "evaluation" / "questions.yaml"  # questions with the pages that answer them
MODEL_NAME = "minilm_l6_v2"


def _build_recipe() -> str:
    """What the built model depends on: the export script and its pinned requirements."""
    digest = hashlib.sha256()
    for name in ("export_onnx.py", "requirements.txt"):
        digest.update((MODEL_BUILD_DIR / name).read_bytes())
    return digest.hexdigest()


def ensure_model(report: Report = print) -> Path:
    """Export all-MiniLM-L6-v2 to ONNX once per machine (again only when its recipe changes)."""
    folder = cache_dir() / "models" / MODEL_NAME
    model, stamp = folder / "model.onnx", folder / "recipe.sha256"
    if (
        model.exists()
        and (folder / "tokenizer.json").exists()
        and stamp.exists()
        and stamp.read_text() == _build_recipe()
    ):
        return model
    env = ensure_environment("minilm-export", MODEL_BUILD_DIR / "requirements.txt", report=report)
    report("exporting all-MiniLM-L6-v2 to ONNX")
    run_in_environment(env, MODEL_BUILD_DIR / "export_onnx.py", model, what="embedding model export")
    stamp.write_text(_build_recipe())
    return model


def start_triton(run_dir: Path, report: Report = print) -> LocalTriton:
    model = ensure_model(report)
    repository = build_cpu_repository(
        PROJECT_DIR / "model_repository", {MODEL_NAME: model}, run_dir / "model_repository"
    )
    triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log")
    triton.start(report)
    return triton


@dataclass
class Stack:
    triton: LocalTriton
    milvus: LocalMilvus
    llm: LocalLlamaCpp | LocalVllm
    run_dir: Path
    service_env: dict[str, str]
    port: int | None = None  # chosen when the API first starts
    host: str = "127.0.0.1"
    service: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start_service(self) -> None:
        env = {
            "RAG_TRITON_URL": self.triton.grpc_url,
            "RAG_MILVUS_URI": self.milvus.uri,
            "RAG_LLM_BASE_URL": self.llm.base_url,
            # llama-cpp-python spells a schema-constrained answer its own way; vLLM as OpenAI does.
            "RAG_LLM_STRUCTURED_OUTPUT": "json_object" if isinstance(self.llm, LocalLlamaCpp) else "json_schema",
            "RAG_TOKENIZER_FILE": str(ensure_model().with_name("tokenizer.json")),
            "RAG_COURSE_DIR": str(REPO_ROOT),
            # No trace backend runs locally: spans go to a JSON-lines file (compose sends them to Jaeger).
            "RAG_TRACES_EXPORTER": "file",
            "RAG_TRACES_FILE": str(self.traces_file),
            **self.service_env,
        }
        self.service = start_api("rag API", "rag", env, self.run_dir, self.port, self.host, ready_timeout_s=90)
        self.port = port_of(self.service)  # a restart keeps the address

    @property
    def traces_file(self) -> Path:
        return self.run_dir / "logs" / "traces.jsonl"

    def stop_service(self) -> None:
        if self.service is not None:
            self.service.stop()

    def index_course(self) -> dict:
        response = httpx.post(f"{self.url}/v1/index/course", timeout=600)
        if response.status_code != 200:
            raise StudyError(f"indexing the course failed: {response.status_code} {response.text[:500]}")
        return response.json()

    def endpoints(self) -> dict[str, str]:
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "Triton metrics": self.triton.metrics_url,
            "Milvus": self.milvus.uri,
            "LLM server": self.llm.base_url,
            "traces (JSON lines)": str(self.traces_file),
        }


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    report: Report = print,
    service_env: dict[str, str] | None = None,
    backend: str | None = None,
    index: bool = True,
    llm: LocalLlamaCpp | LocalVllm | None = None,
) -> Iterator[Stack]:
    """Triton (embeddings), Milvus Lite and an LLM server, then the service, then the course
    indexed into it; all stopped on exit. ``backend`` as in project 02 (STUDY_LLM_BACKEND); ``llm``:
    an LLM server already running (project 06 shares its own), neither started nor stopped here."""
    backend = choose_backend(backend)
    milvus = LocalMilvus(run_dir / "milvus")
    own_llm = llm is None
    llm = llm or BACKENDS[backend](run_dir / "logs" / f"{backend}.log")
    triton = start_triton(run_dir, report)
    stack = Stack(triton, milvus, llm, run_dir, service_env or {}, port=port, host=host)
    try:
        report("starting Milvus Lite")
        milvus.start()
        if own_llm:
            report(f"starting the {backend} OpenAI-compatible server (SmolLM2-135M-Instruct)")
            llm.start(report)
        report("starting the FastAPI service")
        stack.start_service()
        if index:
            report("indexing the course (chunk, embed on Triton, store in Milvus)")
            stack.index_course()
        yield stack
    finally:
        stack.stop_service()
        if own_llm:
            llm.stop()
        milvus.stop()
        triton.stop()


# --8<-- [end:stack]
