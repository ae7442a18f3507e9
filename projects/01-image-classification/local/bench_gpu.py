"""Project 01 on a GPU host: ``study bench image-classification --gpu``, against the compose stack
that ``scripts/gpu-bench.sh`` starts (Triton on the GPU with one model configuration at a time:
ONNX Runtime's CUDA provider in float32, or its TensorRT provider in FP16). The API and Triton
directly, at 1, 8 and 32 clients, and the batch sizes Triton formed. Each run adds its rows to
``gpu.json`` under its configuration and device, and the table is redrawn from all of them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from image_classification.services.preprocessing import decode_image, to_model_input
from study.bench.gpu import device_name, record_run, target
from study.bench.load import machine

from .bench import DEFAULT_OUT, load_api, load_triton, triton_totals
from .stack import chelsea_crops

COUNTERS = ("nv_inference_count", "nv_inference_exec_count", "nv_cache_num_hits_per_model")

CONCURRENCY = (1, 8, 32)
REQUESTS_PER_WORKER = {1: 100, 8: 30, 32: 14}  # with a warm-up each, 791 photos per target of the 800
API_CROPS, DIRECT_CROPS = 0, 800  # where each target's photos start among the 1,600 distinct crops


def marked(jpegs: list[bytes], mark: np.ndarray) -> list[bytes]:
    """The photos with an 8x8 patch of one colour painted at their centre: a run draws its own
    colour, so no two runs send a tensor Triton has seen (and cached) before."""
    out = []
    for jpeg in jpegs:
        pixels = np.array(Image.open(io.BytesIO(jpeg)).convert("RGB"))
        h, w = pixels.shape[0] // 2, pixels.shape[1] // 2
        pixels[h - 4 : h + 4, w - 4 : w + 4] = mark
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def run_gpu(out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print) -> list[Path]:
    """Every request sends a photo no request sent before (the API and the direct runs draw from
    separate crops, and each run marks its photos with its own colour), so Triton's response cache,
    on in this configuration, never answers one: the rows measure the model. The cache hits column
    shows it."""
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    device = device_name()
    config = target("CONFIG", "onnxruntime-cuda-fp32")
    api, grpc, metrics = (
        target("API_URL", "http://localhost:8000"),
        target("TRITON_GRPC", "localhost:8001"),
        target("TRITON_METRICS", "http://localhost:8002/metrics"),
    )
    next_crop = {"api": API_CROPS, "triton": DIRECT_CROPS}
    mark = np.random.default_rng().integers(0, 256, size=3, dtype=np.uint8)
    rows = []
    for concurrency in CONCURRENCY:
        count = max(concurrency, int(REQUESTS_PER_WORKER[concurrency] * concurrency * scale))
        for name in ("api", "triton"):
            *photos, first = marked(chelsea_crops(next_crop[name], count + 1), mark)  # first: the warm-up's
            next_crop[name] += count + 1
            if name == "api":
                run = load_api(api, photos, concurrency, count, warm_up=first)
            else:
                tensors = [to_model_input(decode_image(jpeg, 10**8))[None] for jpeg in [first, *photos]]
                run = load_triton(grpc, tensors[1:], concurrency, count, warm_up=tensors[0])
            report(f"{device}, {config}: {name} at {concurrency} clients")
            before = triton_totals(metrics, *COUNTERS)
            result = asyncio.run(run)
            after = triton_totals(metrics, *COUNTERS)
            inferences, executions, hits = (a - b for a, b in zip(after, before, strict=True))
            rows.append(
                {
                    "config": config,
                    "target": name,
                    **result.as_dict(),
                    "avg_batch_size": round(inferences / max(1.0, executions), 2),
                    "cache_hits": int(hits),
                }
            )
    entry = {"device": device, "config": config, "machine": machine(), "results": rows}
    return record_run(out, "image-classification gpu", entry, ("device", "config"), gpu_table)


def gpu_table(runs: list[dict]) -> str:
    lines = [
        "| device | model configuration | target | clients | images/s | p50 ms | p99 ms | avg batch | cache hits |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for r in run["results"]:
            lines.append(
                f"| {run['device']} | {r['config']} | {r['target']} | {r['concurrency']} | "
                f"{r['throughput_rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['avg_batch_size']} | "
                f"{r['cache_hits']} |"
            )
    dates = sorted({run["machine"]["date"] for run in runs})
    lines += ["", f"`scripts/gpu-bench.sh` (`study bench image-classification --gpu`), {', '.join(dates)}.", ""]
    return "\n".join(lines)
