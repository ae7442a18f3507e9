"""Project 01, part ``overhead``: where the service's own time goes. One client, one request at a
time, against one stack, in rounds that take turns so a slow spell of a shared machine hits every
figure alike:

* the work the service must do: decode the JPEG and resize it, timed in this process;
* the model: the same tensor sent straight to Triton over gRPC;
* the API, with the time split the service reports in each answer (decode, preprocess, the Triton
  call, the rest of the handler) and what the client saw beyond the handler (HTTP, the multipart
  upload, middleware, the JSON answer);
* the same API under uvicorn with uvloop and httptools (C event loop and HTTP parser) instead of
  asyncio and h11, to see whether the HTTP layer is where the time goes;

and, while the API runs, a py-spy flame graph of the service process. The service's overhead is
what the client saw, less the model and less the decode and resize."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import tritonclient.grpc.aio as grpcclient

from image_classification.services.preprocessing import decode_image, to_model_input
from study.bench.load import machine

from .stack import MODEL_NAME, cat_jpeg, start_service, start_triton

OVERHEAD_TARGET_MS = 2.0  # the target: at most this much beyond the model, the decode and the resize
ROUNDS = 5


def decode_and_resize_ms(image: bytes, count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        to_model_input(decode_image(image, 10**8))
        out.append((time.perf_counter() - started) * 1000)
    return out


async def triton_ms(grpc_url: str, tensor: np.ndarray, count: int) -> list[float]:
    client = grpcclient.InferenceServerClient(grpc_url)
    try:
        out = []
        for _ in range(count):
            started = time.perf_counter()
            inputs = grpcclient.InferInput("input", list(tensor.shape), "FP32")
            inputs.set_data_from_numpy(tensor)
            await client.infer(MODEL_NAME, [inputs])
            out.append((time.perf_counter() - started) * 1000)
        return out
    finally:
        await client.close()


def api_ms(client: httpx.Client, image: bytes, count: int) -> list[dict]:
    """Per request: what the client saw, and the split the service put in its answer."""
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
        seen = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        out.append({"client_ms": seen, **response.json()["timings"]})
    return out


def flame_graph(pid: int, seconds: float, path: Path) -> subprocess.Popen:
    """py-spy sampling the service for ``seconds`` into ``path``. It needs the right to read another
    process's memory (root, or ptrace allowed): where it is refused, it says why on stderr."""
    py_spy = shutil.which("py-spy") or "py-spy"  # a dev dependency of the repository
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
         "--format", "flamegraph", "--output", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def retitle(svg: Path, title: str) -> None:
    """py-spy titles its graph with its own command line, paths of this machine included."""
    text = svg.read_text()
    svg.write_text(re.sub(r'(<text id="title"[^>]*>)[^<]*(</text>)', lambda m: m[1] + title + m[2], text, count=1))


def p50(values) -> float:
    return round(float(np.median(values)), 2)


def breakdown(work: list[float], model: list[float], api: list[dict], fast_http: list[dict]) -> dict:
    """Medians of each part, and the overhead: what the client saw, less the model, the decode and
    the resize. (Medians of parts do not add up exactly to the median of a whole.)"""
    client = p50([r["client_ms"] for r in api])
    inside = {
        "decode_ms": p50([r["decode_ms"] for r in api]),
        "preprocess_ms": p50([r["preprocess_ms"] for r in api]),
        "inference_ms": p50([r["inference_ms"] for r in api]),
        "handler_rest_ms": p50([r["total_ms"] - r["decode_ms"] - r["preprocess_ms"] - r["inference_ms"] for r in api]),
        "outside_handler_ms": p50([r["client_ms"] - r["total_ms"] for r in api]),
    }
    return {
        "client_p50_ms": client,
        "triton_direct_p50_ms": p50(model),
        "decode_and_resize_p50_ms": p50(work),
        "service": inside,
        "triton_call_beyond_direct_ms": round(inside["inference_ms"] - p50(model), 2),
        "overhead_p50_ms": round(client - p50(model) - p50(work), 2),
        "target_ms": OVERHEAD_TARGET_MS,
        "uvloop_httptools_client_p50_ms": p50([r["client_ms"] for r in fast_http]),
    }


def run_overhead(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    image = cat_jpeg()
    tensor = to_model_input(decode_image(image, 10**8))[None]
    count = max(10, int(100 * scale))
    work: list[float] = []
    model: list[float] = []
    api: list[dict] = []
    fast_http: list[dict] = []
    svg = out / "overhead-flamegraph.svg"
    svg.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        triton = start_triton(Path(tmp), response_cache=False, report=report)
        services = []
        try:
            services.append(start_service(triton, Path(tmp) / "shipped"))
            services.append(start_service(triton, Path(tmp) / "fast-http", loop="uvloop", http="httptools"))
            shipped, fast = (httpx.Client(base_url=s.url, timeout=60) for s in services)
            for client in (shipped, fast):
                api_ms(client, image, 20)  # warm-up
            asyncio.run(triton_ms(triton.grpc_url, tensor, 20))
            for n in range(ROUNDS):
                report(f"overhead, round {n + 1} of {ROUNDS}: decode and resize, Triton direct, the API twice")
                work += decode_and_resize_ms(image, count)
                model += asyncio.run(triton_ms(triton.grpc_url, tensor, count))
                api += api_ms(shipped, image, count)
                fast_http += api_ms(fast, image, count)
            report("overhead: a flame graph of the service under one client")
            spy = flame_graph(services[0].proc.pid, max(3, 10 * scale), svg)
            deadline = time.monotonic() + max(3, 10 * scale)
            while time.monotonic() < deadline:
                api_ms(shipped, image, 10)
            _, spy_said = spy.communicate(timeout=60)
            shipped.close()
            fast.close()
        finally:
            for service in services:
                service.stop()
            triton.stop()
    if svg.exists():
        retitle(svg, "Project 01's service under one client: py-spy, 250 samples a second")
    result = {
        "benchmark": "image-classification overhead",
        "machine": machine(),
        "model": MODEL_NAME,
        "image": "scikit-image chelsea (451x300 JPEG)",
        "requests_per_part": count * ROUNDS,
        **breakdown(work, model, api, fast_http),
        "flame_graph": svg.name if svg.exists() else None,
        "flame_graph_error": None if svg.exists() else (spy_said.strip()[-500:] or f"py-spy exited {spy.returncode}"),
    }
    paths = [out / "overhead.json", out / "overhead.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(overhead_table(result))
    return [*paths, *([svg] if svg.exists() else [])]


def overhead_table(result: dict) -> str:
    s, host = result["service"], result["machine"]
    rows = [
        ("the client's wait for the API's answer", result["client_p50_ms"]),
        ("— Triton called directly with the same tensor (the model)", result["triton_direct_p50_ms"]),
        ("— decode and resize, in this process (work the service must do)", result["decode_and_resize_p50_ms"]),
        ("**= the service's overhead**", result["overhead_p50_ms"]),
        ("inside the handler: decode", s["decode_ms"]),
        ("inside the handler: resize, crop, scale", s["preprocess_ms"]),
        ("inside the handler: the Triton call", s["inference_ms"]),
        ("inside the handler: the rest (softmax, top-k, metrics)", s["handler_rest_ms"]),
        ("outside the handler: HTTP, multipart upload, middleware, JSON answer", s["outside_handler_ms"]),
        ("the same API under uvloop and httptools: the client's wait", result["uvloop_httptools_client_p50_ms"]),
    ]
    lines = ["| one client, p50 | ms |", "|---|---:|", *(f"| {label} | {ms:.2f} |" for label, ms in rows)]
    lines += [
        "",
        f"Target: an overhead of at most {result['target_ms']:g} ms. The Triton call from inside the service "
        f"took {result['triton_call_beyond_direct_ms']:+.2f} ms against Triton called directly. "
        f"{host['cpu']}, {host['cores']} cores, {host['date']}, `study bench image-classification --only overhead`, "
        f"{result['requests_per_part']} requests per part in {ROUNDS} alternating rounds.",
        "",
    ]
    return "\n".join(lines)
