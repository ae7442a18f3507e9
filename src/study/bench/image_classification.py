"""Benchmark of project 01: the API at concurrency 1, 8 and 32 with Triton's dynamic batching on
and off, and Triton called directly, all in one run on one machine so the ratios are fair."""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import skimage.data  # noqa: E402
import tritonclient.grpc.aio as grpcclient  # noqa: E402
from PIL import Image  # noqa: E402

from image_classification.services.preprocessing import decode_image, to_model_input  # noqa: E402
from study.bench.charts import format_concurrency_panels  # noqa: E402
from study.bench.load import closed_loop, machine  # noqa: E402
from study.paths import DOCS_DIR  # noqa: E402
from study.stacks.image_classification import MODEL_NAME, ensure_model, running_stack  # noqa: E402

DEFAULT_OUT = DOCS_DIR / "projects" / "01-image-classification" / "results"
CONCURRENCY = (1, 8, 32)
REQUESTS_PER_WORKER = {1: 100, 8: 40, 32: 20}


def cat_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.chelsea()).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def triton_counts(metrics_url: str) -> tuple[float, float]:
    text = httpx.get(metrics_url).text
    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf'^{name}{{[^}}]*model="{MODEL_NAME}"[^}}]*}} (\S+)$', text, re.M))
    return total("nv_inference_count"), total("nv_inference_exec_count")


async def load_api(url: str, image: bytes, concurrency: int, requests: int):
    async with httpx.AsyncClient(base_url=url, timeout=120,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        async def send() -> bool:
            response = await client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
            return response.status_code == 200
        await send()  # warm-up
        return await closed_loop(send, concurrency, requests)


async def load_triton(grpc_url: str, tensor: np.ndarray, concurrency: int, requests: int):
    client = grpcclient.InferenceServerClient(grpc_url)
    try:
        async def send() -> bool:
            inputs = grpcclient.InferInput("input", list(tensor.shape), "FP32")
            inputs.set_data_from_numpy(tensor)
            await client.infer(MODEL_NAME, [inputs])
            return True
        await send()
        return await closed_loop(send, concurrency, requests)
    finally:
        await client.close()


def model_compute_per_image(model_path: Path, tensor: np.ndarray, repeats: int) -> dict[int, float]:
    """ONNX Runtime alone, in this process: median milliseconds per image at batch 1, 8 and 32.
    Shows how much a batch can save on this hardware before any server is involved. The batch
    sizes take turns, so a slow spell of a shared machine hits all of them alike."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    batches = {size: np.repeat(tensor, size, axis=0) for size in (1, 8, 32)}
    timings: dict[int, list[float]] = {size: [] for size in batches}
    for batch in batches.values():
        session.run(None, {"input": batch})  # warm-up
    for _ in range(repeats):
        for size, batch in batches.items():
            started = time.perf_counter()
            session.run(None, {"input": batch})
            timings[size].append((time.perf_counter() - started) * 1000 / size)
    return {size: round(float(np.median(ms)), 2) for size, ms in timings.items()}


def example_response(url: str, image: bytes) -> dict:
    """One real answer of the API, shown on the docs page as the example."""
    response = httpx.post(f"{url}/v1/classify", params={"top_k": 3},
                          files={"image": ("chelsea.jpg", image, "image/jpeg")})
    response.raise_for_status()
    return response.json()


def measure(target: str, batching: bool, metrics_url: str, run) -> list[dict]:
    rows = []
    for concurrency in CONCURRENCY:
        count_before, exec_before = triton_counts(metrics_url)
        result = asyncio.run(run(concurrency))
        count_after, exec_after = triton_counts(metrics_url)
        row = {"target": target, "dynamic_batching": batching, **result.as_dict(),
               "avg_batch_size": round((count_after - count_before) / max(1.0, exec_after - exec_before), 2)}
        rows.append(row)
    return rows


def run(out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    image = cat_jpeg()
    tensor = to_model_input(decode_image(image, 10**8))[None]
    counts = {c: max(c, int(REQUESTS_PER_WORKER[c] * c * scale)) for c in CONCURRENCY}
    rows: list[dict] = []
    report("measuring ONNX Runtime alone at batch 1, 8, 32")
    compute = model_compute_per_image(ensure_model(report), tensor, repeats=max(3, int(30 * scale)))
    with tempfile.TemporaryDirectory() as tmp:
        for batching in (True, False):
            with running_stack(Path(tmp) / f"batching-{batching}", dynamic_batching=batching,
                               report=report) as stack:
                report(f"measuring the API, dynamic batching {'on' if batching else 'off'}")
                rows += measure("api", batching, stack.triton.metrics_url,
                                lambda c: load_api(stack.url, image, c, counts[c]))
                if batching:
                    example = example_response(stack.url, image)  # a warm service, no load
                report(f"measuring Triton directly (gRPC), dynamic batching {'on' if batching else 'off'}")
                rows += measure("triton", batching, stack.triton.metrics_url,
                                lambda c: load_triton(stack.triton.grpc_url, tensor, c, counts[c]))
    result = {"benchmark": "image-classification", "machine": machine(), "model": MODEL_NAME,
              "image": "scikit-image chelsea (451x300 JPEG)", "requests": counts,
              "onnxruntime_ms_per_image": compute, "results": rows, "ratios": ratios(rows, compute)}
    paths = [out / "benchmark.json", out / "benchmark.png", out / "benchmark.md", out / "example-response.json"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    chart(rows, result["machine"], paths[1])
    paths[2].write_text(table(result))
    paths[3].write_text(json.dumps(example, indent=2) + "\n")
    return paths


def _row(rows: list[dict], target: str, batching: bool, concurrency: int) -> dict:
    return next(r for r in rows if r["target"] == target and r["dynamic_batching"] == batching
                and r["concurrency"] == concurrency)


def ratios(rows: list[dict], compute: dict[int, float]) -> dict:
    on32, off32 = _row(rows, "api", True, 32), _row(rows, "api", False, 32)
    on1, off1, triton1 = _row(rows, "api", True, 1), _row(rows, "api", False, 1), _row(rows, "triton", True, 1)
    triton32, triton_off32 = _row(rows, "triton", True, 32), _row(rows, "triton", False, 32)
    return {
        "batching_throughput_gain_c32": round(on32["throughput_rps"] / off32["throughput_rps"], 2),
        "triton_batching_throughput_gain_c32": round(
            triton32["throughput_rps"] / triton_off32["throughput_rps"], 2),
        "batching_p95_ratio_c32": round(on32["p95_ms"] / off32["p95_ms"], 2),
        "triton_batching_p95_ratio_c32": round(triton32["p95_ms"] / triton_off32["p95_ms"], 2),
        "batching_p50_ratio_c1": round(on1["p50_ms"] / off1["p50_ms"], 2),
        "api_over_triton_p50_c1": round(on1["p50_ms"] / triton1["p50_ms"], 2),
        "api_added_p50_ms_c1": round(on1["p50_ms"] - triton1["p50_ms"], 1),
        "api_over_triton_throughput_c32": round(on32["throughput_rps"] / triton32["throughput_rps"], 2),
        "onnxruntime_per_image_batch8_over_batch1": round(compute[8] / compute[1], 2),
    }


def chart(rows: list[dict], host: dict, path: Path) -> None:
    series = [("api", True, "API, batching on"), ("api", False, "API, batching off"),
              ("triton", True, "Triton direct, batching on"), ("triton", False, "Triton direct, batching off")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, batching, label in series:
        points = [_row(rows, target, batching, c) for c in CONCURRENCY]
        left.plot(CONCURRENCY, [p["throughput_rps"] for p in points], marker="o", label=label)
        right.plot(CONCURRENCY, [p["p95_ms"] for p in points], marker="o", label=label)
    format_concurrency_panels(
        fig, [(left, "Throughput (images/s)"), (right, "p95 latency (ms)")], CONCURRENCY, "concurrent clients",
        f"EfficientNet-Lite0 on Triton (CPU): {host['cpu']}, {host['cores']} cores, {host['date']}", path)
    plt.close(fig)


def table(result: dict) -> str:
    host = result["machine"]
    lines = [f"Triton on CPU (local mode), {host['cpu']}, {host['cores']} cores, {host['date']}, "
             f"with `study bench image-classification`.", "",
             "| target | dynamic batching | concurrency | images/s | p50 ms | p95 ms | p99 ms | avg batch | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["results"]:
        lines.append(f"| {r['target']} | {'on' if r['dynamic_batching'] else 'off'} | {r['concurrency']} | "
                     f"{r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['avg_batch_size']:.2f} | {r['errors']} |")
    q = result["ratios"]
    compute = result["onnxruntime_ms_per_image"]
    lines += ["", "ONNX Runtime alone, same machine and run: "
              + ", ".join(f"{ms} ms per image at batch {b}" for b, ms in compute.items()) + ".",
              "", "| ratio (same run) | value |", "|---|---:|",
              f"| model compute per image, batch 8 / batch 1 (ONNX Runtime alone) | "
              f"{q['onnxruntime_per_image_batch8_over_batch1']}× |",
              f"| throughput at 32 clients, batching on / off, through the API | {q['batching_throughput_gain_c32']}× |",
              f"| throughput at 32 clients, batching on / off, Triton direct | "
              f"{q['triton_batching_throughput_gain_c32']}× |",
              f"| p95 latency at 32 clients, batching on / off, through the API | {q['batching_p95_ratio_c32']}× |",
              f"| p95 latency at 32 clients, batching on / off, Triton direct | "
              f"{q['triton_batching_p95_ratio_c32']}× |",
              f"| p50 latency at 1 client, batching on / off | {q['batching_p50_ratio_c1']}× |",
              f"| p50 latency at 1 client, API / Triton direct | {q['api_over_triton_p50_c1']}× "
              f"(+{q['api_added_p50_ms_c1']} ms) |",
              f"| throughput at 32 clients, API / Triton direct | {q['api_over_triton_throughput_c32']}× |", ""]
    return "\n".join(lines)
