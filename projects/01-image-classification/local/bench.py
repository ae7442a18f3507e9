"""Benchmark of project 01: the API at concurrency 1, 8 and 32 with Triton's dynamic batching on
and off, and Triton called directly; then a traffic mix with repeated images, Triton's response
cache off and on; and the int8 build against float32 in ONNX Runtime. All in one run on one
machine so the ratios are fair. That is the ``serving`` part; ``edge`` (its own module) compares
the Triton deployment with the model inside the service process, and ``capacity`` (its own module)
puts the API under open-loop load at rising rates, and ``overhead`` (its own module) takes the
service's own time apart, and ``servers`` (its own module) puts the same model behind TorchServe,
Ray Serve and the service with and without Triton, and runs the same fault drills on each."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import np_to_triton_dtype

from image_classification.services.preprocessing import center_crop, decode_image, to_model_input
from study.bench.charts import format_concurrency_panels
from study.bench.load import closed_loop, machine
from study.bench.parts import run_parts
from study.paths import DOCS_DIR

from .bench_capacity import run_capacity
from .bench_edge import run_edge
from .bench_overhead import run_overhead
from .bench_servers import run_servers
from .stack import (
    ENSEMBLE_NAME,
    MODEL_NAME,
    cat_jpeg,
    chelsea_crops,
    ensure_int8_model,
    ensure_model,
    running_stack,
)

DEFAULT_OUT = DOCS_DIR / "projects" / Path(__file__).resolve().parents[1].name / "results"
CONCURRENCY = (1, 8, 32)
REQUESTS_PER_WORKER = {1: 100, 8: 40, 32: 20}
CACHE_CONCURRENCY = 8
POPULAR_IMAGES = 16  # the cache workload: half the requests send one of these, half a never-seen image


def triton_totals(metrics_url: str, *names: str) -> tuple[float, ...]:
    """Triton's counters for the model, summed over versions."""
    text = httpx.get(metrics_url).text

    def total(name: str) -> float:
        return sum(float(v) for v in re.findall(rf'^{name}{{[^}}]*model="{MODEL_NAME}"[^}}]*}} (\S+)$', text, re.M))

    return tuple(total(name) for name in names)


def triton_counts(metrics_url: str) -> tuple[float, float]:
    inferences, executions = triton_totals(metrics_url, "nv_inference_count", "nv_inference_exec_count")
    return inferences, executions


# --8<-- [start:cache-workload]
def cache_workload(requests: int, seed: int = 7) -> list[bytes]:
    """Half the requests send one of a few popular images, half an image nobody sent before:
    every image a different crop of the same photo, so no two are byte- or tensor-identical."""
    rng = np.random.default_rng(seed)
    popular = [rng.random() < 0.5 for _ in range(requests)]
    crops = iter(chelsea_crops(0, POPULAR_IMAGES + requests - sum(popular)))
    hot = [next(crops) for _ in range(POPULAR_IMAGES)]
    return [hot[rng.integers(POPULAR_IMAGES)] if is_popular else next(crops) for is_popular in popular]


# --8<-- [end:cache-workload]


async def load_api(url: str, images: list[bytes], concurrency: int, requests: int, warm_up: bytes | None = None):
    """Request i sends ``images[i % len(images)]``; one image repeated when the list holds one.
    One request first, untimed: ``warm_up``, or a photo outside every workload."""
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=concurrency)) as client:
        sent = 0

        async def send(image: bytes | None = None) -> bool:
            nonlocal sent
            if image is None:
                image, sent = images[sent % len(images)], sent + 1
            response = await client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
            return response.status_code == 200

        await send(warm_up or cat_jpeg())
        return await closed_loop(send, concurrency, requests)


async def load_triton(
    grpc_url: str,
    tensors: list[np.ndarray],
    concurrency: int,
    requests: int,
    model: str = MODEL_NAME,
    input_name: str = "input",
    warm_up: np.ndarray | None = None,
):
    """Straight to Triton: float32 tensors to the network, or uint8 crops to the ensemble's "image".
    One request first, untimed: ``warm_up``, or zeros."""
    client = grpcclient.InferenceServerClient(grpc_url)
    datatype = np_to_triton_dtype(tensors[0].dtype)
    try:
        sent = 0

        async def send(tensor: np.ndarray | None = None) -> bool:
            nonlocal sent
            if tensor is None:
                tensor, sent = tensors[sent % len(tensors)], sent + 1
            inputs = grpcclient.InferInput(input_name, list(tensor.shape), datatype)
            inputs.set_data_from_numpy(tensor)
            await client.infer(model, [inputs])
            return True

        await send(np.zeros_like(tensors[0]) if warm_up is None else warm_up)
        return await closed_loop(send, concurrency, requests)
    finally:
        await client.close()


def cache_counts(metrics_url: str) -> tuple[float, float]:
    """Response-cache hits and model inferences. (Triton's miss counter is not used: when two equal
    requests miss at once, only the one whose answer enters the cache is counted.)"""
    hits, inferences = triton_totals(metrics_url, "nv_cache_num_hits_per_model", "nv_inference_count")
    return hits, inferences


def measure_cache(target: str, cache: bool, metrics_url: str, run_load) -> dict:
    hits_before, inferred_before = cache_counts(metrics_url)
    result = asyncio.run(run_load())
    # Triton counts a request after its answer has left, so the last few may be missing from a read
    # taken the moment the load ends: read until every request (and the warm-up) is counted, or 10 s.
    deadline = time.monotonic() + 10
    while True:
        hits_after, inferred_after = cache_counts(metrics_url)
        counted = (hits_after - hits_before) + (inferred_after - inferred_before)
        if counted >= result.requests + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    hits = int(hits_after - hits_before)
    return {
        "target": target,
        "response_cache": cache,
        **result.as_dict(),
        "cache_hits": hits,
        "model_runs": int(inferred_after - inferred_before) - 1,  # less the warm-up, an image outside the mix
        "hit_ratio": round(hits / result.requests, 3),
    }


def onnxruntime_ms_per_image(
    models: dict[str, Path], tensor: np.ndarray, repeats: int, sizes: tuple[int, ...] = (1, 8, 32), images: int = 64
) -> dict[str, dict[int, float]]:
    """ONNX Runtime alone, in this process, with its default threads: median milliseconds per image
    for each model file at each batch size. Shows what a batch, or a build, saves before any server
    is involved. Each model and batch size runs as a server serving it would, back to back: ``images``
    images to warm up, then ``images`` timed (at least 5 runs). Models and batch sizes take turns, so
    a slow spell of a shared machine hits all of them alike. (A single run after another model's batch
    of 32 pays for reloading the weights into the CPU's caches: timed like that, batch 1 once looked
    twice as slow as it is in a server.)"""
    sessions = {
        name: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]) for name, path in models.items()
    }
    batches = {size: np.repeat(tensor, size, axis=0) for size in sizes}
    timings: dict[tuple[str, int], list[float]] = {(name, size): [] for name in sessions for size in sizes}
    for _ in range(repeats):
        for (name, size), found in timings.items():
            for _ in range(max(1, images // size)):  # warm: weights and buffers in the caches
                sessions[name].run(None, {"input": batches[size]})
            for _ in range(max(5, images // size)):
                started = time.perf_counter()
                sessions[name].run(None, {"input": batches[size]})
                found.append((time.perf_counter() - started) * 1000 / size)
    return {name: {size: round(float(np.median(timings[name, size])), 2) for size in sizes} for name in sessions}


def int8_against_fp32(fp32: Path, int8: Path, alone: dict[str, dict[int, float]]) -> dict:
    """File sizes and per-image times of the two builds, from one ``onnxruntime_ms_per_image`` run."""
    ms = {f"{name}_batch{size}_ms": alone[name][size] for name in ("fp32", "int8") for size in (1, 8)}
    return {
        **ms,
        "fp32_mib": round(fp32.stat().st_size / 2**20, 1),
        "int8_mib": round(int8.stat().st_size / 2**20, 1),
        "int8_over_fp32_batch1": round(ms["int8_batch1_ms"] / ms["fp32_batch1_ms"], 2),
        "int8_over_fp32_batch8": round(ms["int8_batch8_ms"] / ms["fp32_batch8_ms"], 2),
    }


def quantization_table(result: dict) -> str:
    q, host = result["quantization"], result["machine"]
    return "\n".join(
        [
            "| ONNX Runtime on CPU, same run | float32 (version 1) | int8 (version 2) | int8 / float32 |",
            "|---|---:|---:|---:|",
            f"| file size | {q['fp32_mib']} MiB | {q['int8_mib']} MiB | {round(q['int8_mib'] / q['fp32_mib'], 2)}× |",
            *(
                f"| ms per image, batch {b} | {q[f'fp32_batch{b}_ms']} | {q[f'int8_batch{b}_ms']} "
                f"| {q[f'int8_over_fp32_batch{b}']}× |"
                for b in (1, 8)
            ),
            "",
            f"{host['cpu']}, {host['cores']} cores, {host['date']}, `study bench image-classification`.",
            "",
        ]
    )


def ensemble_table(result: dict) -> str:
    host = result["machine"]
    network, ensemble = result["ensemble"]
    lines = [
        "| Triton direct, 8 clients, same run | request body | images/s | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for row, label in ((network, "the network, float32 tensor"), (ensemble, "the ensemble, uint8 crop")):
        lines.append(
            f"| {label} | {row['request_bytes'] // 1024} KiB | {row['throughput_rps']:.1f} | "
            f"{row['p50_ms']:.1f} | {row['p95_ms']:.1f} |"
        )
    lines += [
        "",
        f"Ensemble / network: throughput {ensemble['throughput_rps'] / network['throughput_rps']:.2f}×, "
        f"p50 {ensemble['p50_ms'] / network['p50_ms']:.2f}×. {host['cpu']}, {host['cores']} cores, "
        f"{host['date']}, `study bench image-classification` (response cache off).",
        "",
    ]
    return "\n".join(lines)


def example_response(url: str, image: bytes) -> dict:
    """One real answer of the API, shown on the docs page as the example."""
    response = httpx.post(
        f"{url}/v1/classify", params={"top_k": 3}, files={"image": ("chelsea.jpg", image, "image/jpeg")}
    )
    response.raise_for_status()
    return response.json()


def measure(target: str, batching: bool, metrics_url: str, run) -> list[dict]:
    rows = []
    for concurrency in CONCURRENCY:
        count_before, exec_before = triton_counts(metrics_url)
        result = asyncio.run(run(concurrency))
        count_after, exec_after = triton_counts(metrics_url)
        row = {
            "target": target,
            "dynamic_batching": batching,
            **result.as_dict(),
            "avg_batch_size": round((count_after - count_before) / max(1.0, exec_after - exec_before), 2),
        }
        rows.append(row)
    return rows


PARTS = ("serving", "edge", "capacity", "overhead", "servers")


def run(
    out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print, only: str | None = None
) -> list[Path]:
    """Every part, or ``only`` the one named."""
    runners = (
        lambda to: run_serving(to, scale, report),
        lambda to: run_edge(to, scale, report),
        lambda to: run_capacity(to, scale, report),
        lambda to: run_overhead(to, scale, report),
        lambda to: run_servers(to, scale, report),
    )
    return run_parts(dict(zip(PARTS, runners, strict=True)), out or DEFAULT_OUT, only)


def run_serving(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    image = cat_jpeg()
    tensor = to_model_input(decode_image(image, 10**8))[None]
    counts = {c: max(c, int(REQUESTS_PER_WORKER[c] * c * scale)) for c in CONCURRENCY}
    mix = cache_workload(max(64, int(640 * scale)))
    mix_tensors = [to_model_input(decode_image(jpeg, 10**8))[None] for jpeg in mix]
    rows: list[dict] = []
    cache_rows: list[dict] = []
    ensemble_rows: list[dict] = []
    report("measuring ONNX Runtime alone: the float32 and int8 builds at batch 1, 8, 32")
    fp32, int8 = ensure_model(report), ensure_int8_model(report)
    alone = onnxruntime_ms_per_image({"fp32": fp32, "int8": int8}, tensor, repeats=max(2, int(4 * scale)))
    compute, quantization = alone["fp32"], int8_against_fp32(fp32, int8, alone)
    with tempfile.TemporaryDirectory() as tmp:
        # The batching runs send one image over and over: with the response cache on they would
        # measure the cache, not the model. So these stacks run without it.
        for batching in (True, False):
            with running_stack(
                Path(tmp) / f"batching-{batching}", dynamic_batching=batching, response_cache=False, report=report
            ) as stack:
                report(f"measuring the API, dynamic batching {'on' if batching else 'off'}")
                rows += measure(
                    "api", batching, stack.triton.metrics_url, lambda c: load_api(stack.url, [image], c, counts[c])
                )
                if batching:
                    example = example_response(stack.url, image)  # a warm service, no load
                    report("measuring the ensemble (uint8 crops) against the network (float32 tensors)")
                    crop = center_crop(decode_image(image, 10**8))[None]
                    for model, input_name, payload in ((MODEL_NAME, "input", tensor), (ENSEMBLE_NAME, "image", crop)):
                        result = asyncio.run(
                            load_triton(
                                stack.triton.grpc_url, [payload], CACHE_CONCURRENCY, counts[8], model, input_name
                            )
                        )
                        ensemble_rows.append({"model": model, "request_bytes": payload.nbytes, **result.as_dict()})
                report(f"measuring Triton directly (gRPC), dynamic batching {'on' if batching else 'off'}")
                rows += measure(
                    "triton",
                    batching,
                    stack.triton.metrics_url,
                    lambda c: load_triton(stack.triton.grpc_url, [tensor], c, counts[c]),
                )
        # The repeated-image mix, cache off then on; each run on a fresh stack, so every one
        # starts cold (the API and the direct runs send the very same tensors).
        for cache in (False, True):
            for target in ("api", "triton"):
                with running_stack(Path(tmp) / f"cache-{cache}-{target}", response_cache=cache, report=report) as stack:
                    report(f"measuring the repeated-image mix ({target}), response cache {'on' if cache else 'off'}")
                    load = (
                        (lambda: load_api(stack.url, mix, CACHE_CONCURRENCY, len(mix)))
                        if target == "api"
                        else (lambda: load_triton(stack.triton.grpc_url, mix_tensors, CACHE_CONCURRENCY, len(mix)))
                    )
                    cache_rows.append(measure_cache(target, cache, stack.triton.metrics_url, load))
    result = {
        "benchmark": "image-classification",
        "machine": machine(),
        "model": MODEL_NAME,
        "image": "scikit-image chelsea (451x300 JPEG)",
        "requests": counts,
        "onnxruntime_ms_per_image": compute,
        "quantization": quantization,
        "results": rows,
        "ratios": ratios(rows, compute),
        "ensemble": ensemble_rows,
        "response_cache": {
            "workload": {"requests": len(mix), "distinct_images": len(set(mix)), "concurrency": CACHE_CONCURRENCY},
            "results": cache_rows,
            "ratios": cache_ratios(cache_rows),
        },
    }
    paths = [
        out / "benchmark.json",
        out / "benchmark.png",
        out / "benchmark.md",
        out / "example-response.json",
        out / "response-cache.png",
        out / "response-cache.md",
        out / "batching-summary.md",
        out / "quantization.md",
        out / "ensemble.md",
    ]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    chart(rows, result["machine"], paths[1])
    paths[2].write_text(table(result))
    paths[3].write_text(json.dumps(example, indent=2) + "\n")
    cache_chart(cache_rows, result["machine"], paths[4])
    paths[5].write_text(cache_table(result))
    paths[6].write_text(batching_summary(result))
    paths[7].write_text(quantization_table(result))
    paths[8].write_text(ensemble_table(result))
    return paths


def _row(rows: list[dict], target: str, batching: bool, concurrency: int) -> dict:
    return next(
        r
        for r in rows
        if r["target"] == target and r["dynamic_batching"] == batching and r["concurrency"] == concurrency
    )


def ratios(rows: list[dict], compute: dict[int, float]) -> dict:
    on32, off32 = _row(rows, "api", True, 32), _row(rows, "api", False, 32)
    on1, off1, triton1 = _row(rows, "api", True, 1), _row(rows, "api", False, 1), _row(rows, "triton", True, 1)
    triton32, triton_off32 = _row(rows, "triton", True, 32), _row(rows, "triton", False, 32)
    return {
        "batching_throughput_gain_c32": round(on32["throughput_rps"] / off32["throughput_rps"], 2),
        "triton_batching_throughput_gain_c32": round(triton32["throughput_rps"] / triton_off32["throughput_rps"], 2),
        "batching_p95_ratio_c32": round(on32["p95_ms"] / off32["p95_ms"], 2),
        "triton_batching_p95_ratio_c32": round(triton32["p95_ms"] / triton_off32["p95_ms"], 2),
        "batching_p50_ratio_c1": round(on1["p50_ms"] / off1["p50_ms"], 2),
        "api_over_triton_p50_c1": round(on1["p50_ms"] / triton1["p50_ms"], 2),
        "api_added_p50_ms_c1": round(on1["p50_ms"] - triton1["p50_ms"], 1),
        "api_over_triton_throughput_c32": round(on32["throughput_rps"] / triton32["throughput_rps"], 2),
        "onnxruntime_per_image_batch8_over_batch1": round(compute[8] / compute[1], 2),
    }


def _cache_row(rows: list[dict], target: str, cache: bool) -> dict:
    return next(r for r in rows if r["target"] == target and r["response_cache"] == cache)


def cache_ratios(rows: list[dict]) -> dict:
    out = {}
    for target in ("api", "triton"):
        on, off = _cache_row(rows, target, True), _cache_row(rows, target, False)
        out[f"{target}_throughput_cache_on_over_off"] = round(on["throughput_rps"] / off["throughput_rps"], 2)
        out[f"{target}_p50_cache_on_over_off"] = round(on["p50_ms"] / off["p50_ms"], 2)
    return out


def cache_chart(rows: list[dict], host: dict, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    targets = ("api", "triton")
    positions = np.arange(len(targets))
    for offset, cache, label in ((-0.2, False, "response cache off"), (0.2, True, "response cache on")):
        points = [_cache_row(rows, t, cache) for t in targets]
        left.bar(positions + offset, [p["throughput_rps"] for p in points], width=0.4, label=label)
        right.bar(positions + offset, [p["p50_ms"] for p in points], width=0.4, label=label)
    for axis, title in ((left, "Throughput (images/s)"), (right, "p50 latency (ms)")):
        axis.set_xticks(positions, ["through the API", "Triton direct"])
        axis.set_title(title)
        axis.grid(alpha=0.3, axis="y")
    left.legend(fontsize=8)
    fig.suptitle(
        f"Half the images repeated, {CACHE_CONCURRENCY} clients: {host['cpu']}, {host['cores']} cores, {host['date']}",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cache_table(result: dict) -> str:
    host, cache = result["machine"], result["response_cache"]
    work = cache["workload"]
    lines = [
        f"{work['requests']} requests, {work['distinct_images']} distinct images, {work['concurrency']} "
        f"clients; Triton on CPU (local mode), {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"with `study bench image-classification`.",
        "",
        "| target | response cache | images/s | p50 ms | p95 ms | cache hits | model runs | hit ratio | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in cache["results"]:
        lines.append(
            f"| {r['target']} | {'on' if r['response_cache'] else 'off'} | {r['throughput_rps']:.1f} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['cache_hits']} | {r['model_runs']} | "
            f"{r['hit_ratio']:.2f} | {r['errors']} |"
        )
    q = cache["ratios"]
    lines += [
        "",
        "| ratio (same run), cache on / off | through the API | Triton direct |",
        "|---|---:|---:|",
        f"| throughput | {q['api_throughput_cache_on_over_off']}× | {q['triton_throughput_cache_on_over_off']}× |",
        f"| p50 latency | {q['api_p50_cache_on_over_off']}× | {q['triton_p50_cache_on_over_off']}× |",
        "",
    ]
    return "\n".join(lines)


def chart(rows: list[dict], host: dict, path: Path) -> None:
    series = [
        ("api", True, "API, batching on"),
        ("api", False, "API, batching off"),
        ("triton", True, "Triton direct, batching on"),
        ("triton", False, "Triton direct, batching off"),
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, batching, label in series:
        points = [_row(rows, target, batching, c) for c in CONCURRENCY]
        left.plot(CONCURRENCY, [p["throughput_rps"] for p in points], marker="o", label=label)
        right.plot(CONCURRENCY, [p["p95_ms"] for p in points], marker="o", label=label)
    format_concurrency_panels(
        fig,
        [(left, "Throughput (images/s)"), (right, "p95 latency (ms)")],
        CONCURRENCY,
        "concurrent clients",
        f"EfficientNet-Lite0 on Triton (CPU): {host['cpu']}, {host['cores']} cores, {host['date']}",
        path,
    )
    plt.close(fig)


def batching_summary(result: dict) -> str:
    """The four figures the Triton chapter quotes, from this run."""
    q, host = result["ratios"], result["machine"]
    batch = _row(result["results"], "api", True, 32)["avg_batch_size"]
    return "\n".join(
        [
            "| measured in one run | value |",
            "|---|---:|",
            f"| average batch at 32 concurrent clients (through the API) | {batch} |",
            f"| model compute per image, batch 8 / batch 1 (ONNX Runtime alone) | "
            f"{q['onnxruntime_per_image_batch8_over_batch1']}× |",
            f"| throughput at 32 clients, batching on / off, through the API | {q['batching_throughput_gain_c32']}× |",
            f"| p95 latency at 32 clients, batching on / off, through the API | {q['batching_p95_ratio_c32']}× |",
            "",
            f"{host['cpu']}, {host['cores']} cores, {host['date']}, `study bench image-classification`.",
            "",
        ]
    )


def table(result: dict) -> str:
    host = result["machine"]
    lines = [
        f"Triton on CPU (local mode), {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"with `study bench image-classification`.",
        "",
        "| target | dynamic batching | concurrency | images/s | p50 ms | p95 ms | p99 ms | avg batch | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['target']} | {'on' if r['dynamic_batching'] else 'off'} | {r['concurrency']} | "
            f"{r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['avg_batch_size']:.2f} | {r['errors']} |"
        )
    q = result["ratios"]
    compute = result["onnxruntime_ms_per_image"]
    lines += [
        "",
        "ONNX Runtime alone, same machine and run: "
        + ", ".join(f"{ms} ms per image at batch {b}" for b, ms in compute.items())
        + ".",
        "",
        "| ratio (same run) | value |",
        "|---|---:|",
        f"| model compute per image, batch 8 / batch 1 (ONNX Runtime alone) | "
        f"{q['onnxruntime_per_image_batch8_over_batch1']}× |",
        f"| throughput at 32 clients, batching on / off, through the API | {q['batching_throughput_gain_c32']}× |",
        f"| throughput at 32 clients, batching on / off, Triton direct | {q['triton_batching_throughput_gain_c32']}× |",
        f"| p95 latency at 32 clients, batching on / off, through the API | {q['batching_p95_ratio_c32']}× |",
        f"| p95 latency at 32 clients, batching on / off, Triton direct | {q['triton_batching_p95_ratio_c32']}× |",
        f"| p50 latency at 1 client, batching on / off | {q['batching_p50_ratio_c1']}× |",
        f"| p50 latency at 1 client, API / Triton direct | {q['api_over_triton_p50_c1']}× "
        f"(+{q['api_added_p50_ms_c1']} ms) |",
        f"| throughput at 32 clients, API / Triton direct | {q['api_over_triton_throughput_c32']}× |",
        "",
    ]
    return "\n".join(lines)
