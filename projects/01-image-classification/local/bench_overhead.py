"""Project 01, part ``overhead``: where the service's own time goes. One client, one request at a
time, against one stack, in rounds that take turns so a slow spell of a shared machine hits every
figure alike:

* the work the service must do: decode the JPEG and resize it, timed in this process;
* the model: the same tensor sent straight to Triton over gRPC;
* the API, with the time split the service reports in each answer (decode, preprocess, the Triton
  call, the rest of the handler) and what the client saw beyond the handler (HTTP, the multipart
  upload, middleware, the JSON answer). The client is the standard library's ``http.client``
  sending one prebuilt request over a kept-alive connection, so that what is measured is the
  service, not the client library; httpx, as a reader's script would use it, is timed alongside;
* the same API under uvicorn with asyncio and h11 (pure-Python event loop and HTTP parser) instead
  of the uvloop and httptools it ships with, to see what the HTTP layer's implementation costs;

and, while the API runs, a py-spy flame graph of the service process. The service's overhead is
what the client saw, less the model and less the decode and resize. The service sends its tensor
through shared memory (``IMAGE_CLASSIFICATION_TRITON_SHM_SLOTS``); the direct call sends it inside
the request, as any remote client must."""

from __future__ import annotations

import asyncio
import http.client
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
from study.metrics_page import by_label

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


def api_ms(url: str, image: bytes, count: int) -> list[dict]:
    """Per request: what a lean client saw (one kept-alive connection, the upload built once by
    httpx and sent as bytes), and the split the service put in its answer."""
    upload = httpx.Request("POST", f"{url}/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
    body, headers = upload.read(), {"Content-Type": upload.headers["Content-Type"]}
    connection = http.client.HTTPConnection(upload.url.host, upload.url.port, timeout=60)
    try:
        out = []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("POST", upload.url.path, body, headers)
            response = connection.getresponse()
            answer = response.read()
            seen = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise RuntimeError(f"/v1/classify answered {response.status}: {answer[:200]!r}")
            out.append({"client_ms": seen, **json.loads(answer)["timings"]})
        return out
    finally:
        connection.close()


def httpx_ms(url: str, image: bytes, count: int) -> list[float]:
    """The same request as a reader's script sends it, with httpx (it builds the upload each time)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        out = []
        for _ in range(count):
            started = time.perf_counter()
            client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")}).raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
        return out


def tensor_transfers(url: str) -> dict[str, float]:
    """How the service sent its tensors to Triton so far, from its own /metrics."""
    return by_label(f"{url}/metrics", "image_classification_tensor_transfers_total", "via")


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


def breakdown(
    work: list[float], model: list[float], api: list[dict], other_http: list[dict], with_httpx: list[float]
) -> dict:
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
        "asyncio_h11_client_p50_ms": p50([r["client_ms"] for r in other_http]),
        "httpx_client_p50_ms": p50(with_httpx),
    }


def run_overhead(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    image = cat_jpeg()
    tensor = to_model_input(decode_image(image, 10**8))[None]
    count = max(10, int(100 * scale))
    work: list[float] = []
    model: list[float] = []
    api: list[dict] = []
    other_http: list[dict] = []
    with_httpx: list[float] = []
    svg = out / "overhead-flamegraph.svg"
    svg.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        triton = start_triton(Path(tmp), response_cache=False, report=report)
        services = []
        try:
            services.append(start_service(triton, Path(tmp) / "shipped"))
            services.append(start_service(triton, Path(tmp) / "pure-python-http", loop="asyncio", http="h11"))
            shipped, other = (s.url for s in services)
            for url in (shipped, other):
                api_ms(url, image, 20)  # warm-up
            httpx_ms(shipped, image, 5)
            asyncio.run(triton_ms(triton.grpc_url, tensor, 20))
            for n in range(ROUNDS):
                report(f"overhead, round {n + 1} of {ROUNDS}: decode and resize, Triton direct, the API three ways")
                work += decode_and_resize_ms(image, count)
                model += asyncio.run(triton_ms(triton.grpc_url, tensor, count))
                api += api_ms(shipped, image, count)
                other_http += api_ms(other, image, count)
                with_httpx += httpx_ms(shipped, image, count)
            transfers = tensor_transfers(shipped)
            report("overhead: a flame graph of the service under one client")
            spy = flame_graph(services[0].proc.pid, max(3, 10 * scale), svg)
            deadline = time.monotonic() + max(3, 10 * scale)
            while time.monotonic() < deadline:
                api_ms(shipped, image, 10)
            _, spy_said = spy.communicate(timeout=60)
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
        **breakdown(work, model, api, other_http, with_httpx),
        "tensor_transfers": transfers,
        "flame_graph": svg.name if svg.exists() else None,
        "flame_graph_error": None if svg.exists() else (spy_said.strip()[-500:] or f"py-spy exited {spy.returncode}"),
    }
    paths = [out / "overhead.json", out / "overhead.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(overhead_table(result))
    return [*paths, *([svg] if svg.exists() else [])]


def verdict(result: dict) -> str:
    return "met" if result["overhead_p50_ms"] <= result["target_ms"] else "not met"


def shared_share(result: dict) -> float:
    sent = result["tensor_transfers"]
    return sent.get("shared_memory", 0) / max(1.0, sum(sent.values()))


def overhead_table(result: dict) -> str:
    s, host = result["service"], result["machine"]
    rows = [
        ("the client's wait for the API's answer (uvloop, httptools)", result["client_p50_ms"]),
        ("— Triton called directly with the same tensor in the request (the model)", result["triton_direct_p50_ms"]),
        ("— decode and resize, in this process (work the service must do)", result["decode_and_resize_p50_ms"]),
        ("**= the service's overhead**", result["overhead_p50_ms"]),
        ("inside the handler: decode", s["decode_ms"]),
        ("inside the handler: resize, crop, scale", s["preprocess_ms"]),
        ("inside the handler: the Triton call, the tensor in shared memory", s["inference_ms"]),
        ("inside the handler: the rest (softmax, top-k, metrics)", s["handler_rest_ms"]),
        ("outside the handler: HTTP, multipart upload, middleware, JSON answer", s["outside_handler_ms"]),
        ("the same API under asyncio and h11 instead: the client's wait", result["asyncio_h11_client_p50_ms"]),
        ("the same API called with httpx, the upload built each time", result["httpx_client_p50_ms"]),
    ]
    lines = ["| one client, p50 | ms |", "|---|---:|", *(f"| {label} | {ms:.2f} |" for label, ms in rows)]
    lines += [
        "",
        f"Target: an overhead of at most {result['target_ms']:g} ms: **{verdict(result)}** in this run. "
        "The Triton call from inside the service "
        f"took {result['triton_call_beyond_direct_ms']:+.2f} ms against Triton called directly "
        f"(the service's tensor in shared memory, the direct call's inside the request; tensors the "
        f"service sent by shared memory: {shared_share(result):.0%}). "
        f"{host['cpu']}, {host['cores']} cores, {host['date']}, `study bench image-classification --only overhead`, "
        f"{result['requests_per_part']} requests per part in {ROUNDS} alternating rounds.",
        "",
    ]
    return "\n".join(lines)
