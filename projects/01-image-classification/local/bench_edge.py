"""Project 01, part ``edge``: what it costs to run the classifier on a small box. The same service
three ways, one after another on this machine: in front of Triton (the default deployment, response
cache off so that every request runs the model), and alone with the model in its own process
(ONNX Runtime, one thread), with the float32 file and with the int8 build. For each: seconds from
launch to ready, resident memory of every process it needs, what must be installed besides the
service, and latency and throughput on distinct photos at 1 and 2 clients."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import onnxruntime

from study.bench.load import closed_loop, machine
from study.environments import triton_environment
from study.processes import resident_mb

from .stack import (
    chelsea_crops,
    ensure_int8_model,
    ensure_model,
    sha256_of,
    start_edge_service,
    start_service,
    start_triton,
)

CONCURRENCY = (1, 2)
DEPLOYMENTS = ("Triton + service", "edge, float32", "edge, int8")


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


async def load(url: str, images: list[bytes], concurrency: int, requests: int) -> dict:
    sent = iter(range(10**9))
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def send() -> bool:
            image = images[next(sent) % len(images)]
            response = await client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
            return response.status_code == 200

        for _ in range(4):  # warm-up
            await send()
        result = await closed_loop(send, concurrency, requests)
    return {
        "concurrency": concurrency,
        **{k: round(v, 2) if isinstance(v, float) else v for k, v in result.as_dict().items() if k != "concurrency"},
    }


def measure(
    name: str,
    url: str,
    pids: list[int],
    started_s: float,
    installed_mb: float,
    model: Path,
    images: list[bytes],
    requests: int,
    report: Callable[[str], None],
) -> dict:
    rss_idle = sum(resident_mb(pid) for pid in pids)
    rows = []
    for concurrency in CONCURRENCY:
        report(f"edge footprint: {name}, {concurrency} client(s)")
        rows.append(asyncio.run(load(url, images, concurrency, requests)))
    return {
        "deployment": name,
        "ready_s": round(started_s, 2),
        "rss_mb": round(rss_idle, 1),
        "rss_after_load_mb": round(sum(resident_mb(pid) for pid in pids), 1),
        "installed_mb": round(installed_mb, 1),
        "model_mb": round(model.stat().st_size / 2**20, 1),
        "load": rows,
    }


def run_edge(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    requests, images = max(8, int(200 * scale)), chelsea_crops(0, 64)
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure_deployments(Path(tmp), images, requests, report)
    result = {
        "benchmark": "image-classification/edge",
        "machine": machine(),
        "requests_per_level": requests,
        "distinct_images": len(images),
        "deployments": rows,
        "ratios": edge_ratios(rows),
    }
    paths = [out / "edge.json", out / "edge.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(edge_table(result))
    return paths


def measure_deployments(run_dir: Path, images: list[bytes], requests: int, report: Callable[[str], None]) -> list[dict]:
    """Triton + service, then the service alone with each model file; one after another."""
    fp32, int8 = ensure_model(report), ensure_int8_model(report)
    runtime_mb = du_mb(Path(onnxruntime.__file__).parent)
    rows = []

    started = time.perf_counter()
    triton = start_triton(run_dir / "triton", response_cache=False, report=report)
    try:
        service = start_service(triton, run_dir / "triton")
        try:
            rows.append(
                measure(
                    DEPLOYMENTS[0],
                    service.url,
                    [triton.process.proc.pid, service.proc.pid],
                    time.perf_counter() - started,
                    du_mb(triton_environment(report)),
                    fp32,
                    images,
                    requests,
                    report,
                )
            )
        finally:
            service.stop()
    finally:
        triton.stop()

    for name, model, sha in ((DEPLOYMENTS[1], fp32, sha256_of(fp32)), (DEPLOYMENTS[2], int8, sha256_of(int8))):
        started = time.perf_counter()
        service = start_edge_service(model, sha, run_dir / name.replace(", ", "-"))
        try:
            rows.append(
                measure(
                    name,
                    service.url,
                    [service.proc.pid],
                    time.perf_counter() - started,
                    runtime_mb,
                    model,
                    images,
                    requests,
                    report,
                )
            )
        finally:
            service.stop()
    return rows


def _level(row: dict, concurrency: int) -> dict:
    return next(r for r in row["load"] if r["concurrency"] == concurrency)


def edge_ratios(rows: list[dict]) -> dict:
    triton, fp32, int8 = rows
    out = {}
    for name, row in (("fp32", fp32), ("int8", int8)):
        out[f"edge_{name}_over_triton_rss"] = round(row["rss_mb"] / triton["rss_mb"], 2)
        out[f"edge_{name}_over_triton_ready_s"] = round(row["ready_s"] / triton["ready_s"], 2)
        out[f"edge_{name}_over_triton_p50_c1"] = round(_level(row, 1)["p50_ms"] / _level(triton, 1)["p50_ms"], 2)
        out[f"edge_{name}_over_triton_throughput_c2"] = round(
            _level(row, 2)["throughput_rps"] / _level(triton, 2)["throughput_rps"], 2
        )
    return out


def edge_table(result: dict) -> str:
    host, q = result["machine"], result["ratios"]
    lines = [
        f"CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench image-classification --only edge`; {result['requests_per_level']} requests per level, "
        f"{result['distinct_images']} distinct photos, the deployments one after another.",
        "",
        "| deployment | ready in s | memory MiB, idle | after load | installed besides the service, MiB "
        "| model MiB | p50 ms, 1 client | images/s, 1 client | images/s, 2 clients |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["deployments"]:
        one, two = _level(row, 1), _level(row, 2)
        lines.append(
            f"| {row['deployment']} | {row['ready_s']} | {row['rss_mb']} | {row['rss_after_load_mb']} | "
            f"{row['installed_mb']} | {row['model_mb']} | {one['p50_ms']} | {one['throughput_rps']} | "
            f"{two['throughput_rps']} |"
        )
    lines += [
        "",
        "| ratio to Triton + service (same run) | memory, idle | ready in | p50, 1 client | images/s, 2 clients |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("fp32", "int8"):
        lines.append(
            f"| edge, {'float32' if name == 'fp32' else 'int8'} | {q[f'edge_{name}_over_triton_rss']}× | "
            f"{q[f'edge_{name}_over_triton_ready_s']}× | {q[f'edge_{name}_over_triton_p50_c1']}× | "
            f"{q[f'edge_{name}_over_triton_throughput_c2']}× |"
        )
    return "\n".join(lines) + "\n"
