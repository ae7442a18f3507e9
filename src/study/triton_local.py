"""Triton Inference Server on CPU, as a local process: the binary shipped in ``nvidia-pytriton``.

The production model repository (``platform: "onnxruntime_onnx"``, ``KIND_GPU``) is turned into
its CPU twin: the same name, tensors and dynamic-batching settings, served by the python backend
running ONNX Runtime (``triton_onnx_model.py``). The service talks to it exactly as it talks to
Triton on a GPU.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from study.environments import triton_environment
from study.processes import LocalServer, ManagedProcess, free_port

ONNX_RUNNER = Path(__file__).with_name("triton_onnx_model.py")


# --8<-- [start:cpu-twin]
def cpu_twin_config(production: str, dynamic_batching: bool = True) -> str:
    """Rewrite a production config.pbtxt for the local python backend on CPU."""
    config = text_format.Parse(production, mc.ModelConfig())
    if config.platform != "onnxruntime_onnx":
        raise ValueError(f"{config.name}: only onnxruntime_onnx models have a CPU twin here")
    config.ClearField("platform")
    config.backend = "python"
    for group in config.instance_group:
        group.kind = mc.ModelInstanceGroup.KIND_CPU
        group.count = 1
    if not dynamic_batching:
        config.ClearField("dynamic_batching")
    return text_format.MessageToString(config)


# --8<-- [end:cpu-twin]


def build_cpu_repository(
    production_repo: Path, models: dict[str, Path], dest: Path, dynamic_batching: bool = True
) -> Path:
    """Write the CPU twin of each model in ``models`` (name -> built model.onnx) under ``dest``.
    Every other model of the repository (python-backend steps, ensembles) runs on CPU as it is, so
    it is copied unchanged; an ONNX model left out of ``models`` has no file to serve and is an error."""
    shutil.rmtree(dest, ignore_errors=True)
    for source in sorted(production_repo.glob("*/config.pbtxt")):
        name = source.parent.name
        if name in models:
            (dest / name).mkdir(parents=True)
            (dest / name / "config.pbtxt").write_text(cpu_twin_config(source.read_text(), dynamic_batching))
            add_cpu_version(dest, name, "1", models[name])
        elif text_format.Parse(source.read_text(), mc.ModelConfig()).platform == "onnxruntime_onnx":
            raise ValueError(f"{name}: an ONNX model with no built model.onnx given for it")
        else:
            shutil.copytree(source.parent, dest / name, ignore=shutil.ignore_patterns(".gitkeep"))
    return dest


def add_cpu_version(repository: Path, name: str, version: str, onnx_file: Path) -> Path:
    """Put another version of a model into a CPU-twin repository (a rollout's first step)."""
    version_dir = repository / name / version
    version_dir.mkdir()
    shutil.copy(ONNX_RUNNER, version_dir / "model.py")
    (version_dir / "model.onnx").symlink_to(onnx_file.resolve())
    return version_dir


def _backend_directory(env: Path, python_version: str) -> Path:
    """Triton looks for ``<dir>/python/``: the backend library, its utils and the matching stub."""
    triton_root = next(env.glob("lib/python*/site-packages/pytriton/tritonserver"))
    backend_dir = env / "study-backends"
    python_dir = backend_dir / "python"
    if not python_dir.exists():
        python_dir.mkdir(parents=True)
        for item in (triton_root / "backends" / "python").iterdir():
            (python_dir / item.name).symlink_to(item)
        stub_dir = triton_root / "python_backend_stubs" / python_version
        for item in stub_dir.iterdir():
            (python_dir / item.name).symlink_to(item)
    return backend_dir


@dataclass
class LocalTriton(LocalServer):
    """One ``tritonserver`` process on free ports; start, stop, kill and start again."""

    repository: Path
    log_path: Path
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    explicit_models: tuple[str, ...] = ()  # set: explicit model control, these loaded at start
    response_cache_bytes: int = 0  # > 0: a local response cache of this size for models that enable it
    process: ManagedProcess | None = None

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def _shm_prefix(self) -> str:
        return f"study_triton_{self.grpc_port}_"

    def start(self, report: Callable[[str], None] = lambda _: None, timeout_s: float = 120.0) -> None:
        env_dir = triton_environment(report)  # built once per machine, then only a stamp check
        python = env_dir / "bin" / "python"
        version, libdir = subprocess.run(
            [
                str(python),
                "-c",
                "import sys, sysconfig; print(f'{sys.version_info[0]}.{sys.version_info[1]}');"
                "print(sysconfig.get_config_var('LIBDIR'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        triton_bin = next(env_dir.glob("lib/python*/site-packages/pytriton/tritonserver/bin/tritonserver"))
        cmd = [
            str(triton_bin),
            f"--model-repository={self.repository}",
            f"--backend-directory={_backend_directory(env_dir, version)}",
            f"--backend-config=python,shm-region-prefix-name={self._shm_prefix}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--metrics-config=summary_latencies=true",
            "--allow-cpu-metrics=true",
            "--strict-readiness=true",
        ]
        if self.explicit_models:
            cmd += ["--model-control-mode=explicit", *(f"--load-model={m}" for m in self.explicit_models)]
        if self.response_cache_bytes:
            # The container finds its cache library in /opt/tritonserver/caches; the wheel ships it beside bin/.
            cmd += [
                f"--cache-config=local,size={self.response_cache_bytes}",
                f"--cache-directory={triton_bin.parents[1] / 'caches'}",
            ]
        # The python stub takes its packages from the first python3 on PATH and must load the
        # libpython of that same interpreter.
        env = {
            "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "LD_LIBRARY_PATH": f"{libdir}{os.pathsep}{os.environ.get('LD_LIBRARY_PATH', '')}",
            "VIRTUAL_ENV": str(env_dir),
        }
        self._remove_shm()
        report("starting Triton Inference Server (CPU, python backend + ONNX Runtime)")
        self.process = ManagedProcess("tritonserver", cmd, self.log_path, env)
        self.process.start()
        self.process.wait_http_ok(f"{self.http_url}/v2/health/ready", timeout_s)

    def stop(self) -> None:
        super().stop()
        self._remove_shm()

    def kill(self) -> None:
        super().kill()
        self._remove_shm()

    def _remove_shm(self) -> None:
        # After a SIGKILL the python backend leaves its shared-memory regions behind.
        for leftover in glob.glob(f"/dev/shm/{self._shm_prefix}*"):
            Path(leftover).unlink(missing_ok=True)
