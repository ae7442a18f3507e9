"""Project 01's model behind four serving stacks, started locally for the serving comparison
(``study bench image-classification --only servers``). Each serves the same EfficientNet-Lite0 ONNX
file with the same preprocessing and the same ONNX Runtime, and takes a JPEG:

* ``fastapi-triton``: the course's service in front of Triton (dynamic batching, two instances);
* ``fastapi-onnxruntime``: the same service with the model in its own process (the edge build);
* ``torchserve``: TorchServe's Java front end, batcher and two Python workers (torchserve/);
* ``ray-serve``: a Ray Serve deployment of two replicas with ``@serve.batch`` (ray_serve/).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from study.environments import ensure_environment
from study.errors import StudyError
from study.processes import ManagedProcess, descendants, free_port
from study.ray_local import LocalRayCluster
from study.service import Report

from .stack import MODEL_NAME, PROJECT_DIR, sha256_of, start_edge_service, start_service, start_triton

TORCHSERVE_DIR = PROJECT_DIR / "torchserve"
RAY_SERVE_APP = PROJECT_DIR / "ray_serve" / "app.py"
SERVICE_PACKAGE = PROJECT_DIR / "src" / "image_classification"
STUB_OF_THE_MODEL = rf"triton_python_backend_stub.*{MODEL_NAME}/"  # not the ensemble's steps
EDGE_THREADS = 2  # the in-process model gets both cores, as the other stacks get two workers


@dataclass
class Contender:
    key: str
    name: str
    url: str  # where a JPEG is POSTed
    multipart: bool  # the course's API takes a form upload; TorchServe and Ray Serve the raw body
    health_url: str  # what a load balancer would probe
    front: Callable[[], int]  # the process an operator stops (SIGTERM) in a rolling update
    workers: Callable[[], list[int]]  # the processes that run the model (the kill drill's target)
    roots: Callable[[], list[int]]  # every process of the stack, with their children: its memory
    config_files: list[Path]  # what a reader writes to put the model behind this server
    metrics_url: str | None = None  # the course's service: its own counters, read by the drills


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def processes_matching(root: int, pattern: str) -> list[int]:
    return sorted(pid for pid in descendants(root) if re.search(pattern, command_line(pid)))


def pid_of(process: ManagedProcess | None) -> int:
    if process is None or process.proc is None:
        raise StudyError("the process is not running")
    return process.proc.pid


@contextmanager
def fastapi_triton(model: Path, run_dir: Path, report: Report) -> Iterator[Contender]:
    """Triton's response cache off: every request of the comparison is computed."""
    triton = start_triton(run_dir / "triton", response_cache=False, report=report, model=model)
    try:
        service = start_service(triton, run_dir / "api")
        try:
            yield Contender(
                "fastapi-triton",
                "FastAPI + Triton",
                f"{service.url}/v1/classify",
                True,
                f"{service.url}/health/ready",
                front=lambda: pid_of(service),
                workers=lambda: processes_matching(pid_of(triton.process), STUB_OF_THE_MODEL),
                roots=lambda: [pid_of(triton.process), pid_of(service)],
                config_files=[PROJECT_DIR / "model_repository" / MODEL_NAME / "config.pbtxt"],
                metrics_url=f"{service.url}/metrics",
            )
        finally:
            service.stop()
    finally:
        triton.stop()


@contextmanager
def fastapi_onnxruntime(model: Path, run_dir: Path, report: Report) -> Iterator[Contender]:
    service = start_edge_service(model, sha256_of(model), run_dir, threads=EDGE_THREADS)
    try:
        yield Contender(
            "fastapi-onnxruntime",
            "FastAPI + ONNX Runtime in-process",
            f"{service.url}/v1/classify",
            True,
            f"{service.url}/health/ready",
            front=lambda: pid_of(service),
            workers=lambda: [pid_of(service)],
            roots=lambda: [pid_of(service)],
            config_files=[],
            metrics_url=f"{service.url}/metrics",
        )
    finally:
        service.stop()


def torchserve_model_store(env: Path, model: Path, store: Path) -> None:
    """The model archive, unpacked (``no-archive``): the ONNX file, the handler, and the service's
    preprocessing module beside it, which TorchServe puts on the worker's import path."""
    store.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(env / "bin" / "torch-model-archiver"), "--model-name", MODEL_NAME, "--version", "1.0",
         "--serialized-file", str(model), "--handler", str(TORCHSERVE_DIR / "handler.py"),
         "--extra-files", str(SERVICE_PACKAGE / "services" / "preprocessing.py"),
         "--export-path", str(store), "--archive-format", "no-archive", "--force"],
        check=True, capture_output=True,
    )  # fmt: skip


def torchserve_config(run_dir: Path) -> tuple[Path, dict[str, int]]:
    """config.properties with free ports in place of the shipped 8080-8082."""
    ports = {"inference": free_port(), "management": free_port(), "metrics": free_port()}
    text = (TORCHSERVE_DIR / "config.properties").read_text()
    for name, default in (("inference", 8080), ("management", 8081), ("metrics", 8082)):
        text = text.replace(f"127.0.0.1:{default}", f"127.0.0.1:{ports[name]}")
    path = run_dir / "config.properties"
    path.write_text(text)
    return path, ports


def torchserve_environment(report: Report) -> Path:
    return ensure_environment("torchserve", TORCHSERVE_DIR / "requirements.txt", report=report)


def java_missing() -> str | None:
    if shutil.which("java") is None:
        return "TorchServe's front end is Java: install a JRE 17 (Debian: openjdk-17-jre-headless)"
    return None


@contextmanager
def torchserve(model: Path, run_dir: Path, report: Report) -> Iterator[Contender]:
    if why := java_missing():
        raise StudyError(why)
    env = torchserve_environment(report)
    torchserve_model_store(env, model, run_dir / "model-store")
    config, ports = torchserve_config(run_dir)
    server = ManagedProcess(
        "TorchServe",
        [str(env / "bin" / "torchserve"), "--start", "--foreground", "--ncs", "--disable-token-auth",
         "--model-store", str(run_dir / "model-store"), "--ts-config", str(config)],
        run_dir / "logs" / "torchserve.log",
        env={"PATH": f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}", "LOG_LOCATION": str(run_dir / "logs"),
             "METRICS_LOCATION": str(run_dir / "logs")},
        url=f"http://127.0.0.1:{ports['inference']}",
    )  # fmt: skip
    server.start()
    try:
        java = lambda: processes_matching(pid_of(server), r"^\S*java ")[0]  # noqa: E731
        yield Contender(
            "torchserve",
            "TorchServe",
            f"{server.url}/predictions/{MODEL_NAME}",
            False,
            f"{server.url}/ping",
            front=java,
            workers=lambda: processes_matching(pid_of(server), r"model_service_worker\.py"),
            roots=lambda: [pid_of(server)],
            config_files=[TORCHSERVE_DIR / "config.properties", TORCHSERVE_DIR / "handler.py"],
        )
    finally:
        server.stop(timeout_s=30)


@contextmanager
def ray_serve(model: Path, run_dir: Path, report: Report) -> Iterator[Contender]:
    cluster = LocalRayCluster(run_dir / "ray")
    cluster.start()
    try:
        deployed = subprocess.run(
            [sys.executable, str(RAY_SERVE_APP), "--address", cluster.address,
             "--http-port", str(cluster.serve_port), "--model", str(model)],
            capture_output=True, text=True, timeout=300, cwd=run_dir, env={**os.environ, **cluster.env},
        )  # fmt: skip
        if deployed.returncode != 0:
            raise StudyError(f"deploying on Ray Serve failed:\n{deployed.stderr[-3000:]}")
        cluster.wait_serve_up()
        yield Contender(
            "ray-serve",
            "Ray Serve",
            f"{cluster.serve_url}/predictions",
            False,
            f"{cluster.serve_url}/-/healthz",
            front=lambda: pid_of(cluster.process),
            workers=lambda: processes_matching(pid_of(cluster.process), r"^ray::ServeReplica:efficientnet"),
            roots=lambda: [pid_of(cluster.process)],
            config_files=[RAY_SERVE_APP],
        )
    finally:
        cluster.stop()


CONTENDERS = {
    "fastapi-triton": fastapi_triton,
    "fastapi-onnxruntime": fastapi_onnxruntime,
    "torchserve": torchserve,
    "ray-serve": ray_serve,
}


def post_image(client: httpx.Client | httpx.AsyncClient, contender: Contender, image: bytes):
    """The request each server's API takes: a form upload for the course's service, the raw JPEG
    body for TorchServe and Ray Serve. (An AsyncClient returns a coroutine.)"""
    if contender.multipart:
        return client.post(contender.url, files={"image": ("photo.jpg", image, "image/jpeg")})
    return client.post(contender.url, content=image, headers={"content-type": "image/jpeg"})
