"""Project 02 on a GPU host: ``study bench streaming-llm-chat --gpu``, against the compose stack
with vLLM that ``scripts/gpu-bench.sh`` starts. At 1, 4, 16 and 64 concurrent streams, straight to
vLLM and through the service: time to first token, inter-token latency (the gap between pieces of
one stream), tokens/s in total, and the share of vLLM's KV cache in use (its own gauge, sampled
during the level). Each run adds its rows to ``gpu.json`` under its device."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from study.bench.gpu import device_name, record_run, target
from study.bench.load import machine

from .bench import DEFAULT_OUT, streamed_request

CONCURRENCY = (1, 4, 16, 64)
KV_GAUGES = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")  # newer vLLM, then older


def kv_cache_use(metrics_text: str) -> float | None:
    """vLLM's KV-cache use, 0 to 1 (summed over engines); None where the server has no such gauge."""
    for gauge in KV_GAUGES:
        found = re.findall(rf"^{re.escape(gauge)}(?:{{[^}}]*}})? (\S+)$", metrics_text, re.M)
        if found:
            return sum(float(v) for v in found)
    return None


async def stream_pieces(client: httpx.AsyncClient, url: str, body: dict, parse) -> list[float]:
    """When each piece of one streamed answer arrived, in seconds from the request."""
    started, arrivals = time.perf_counter(), []
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if parse(line):
                arrivals.append(time.perf_counter() - started)
    return arrivals


async def run_level(target_name: str, urls: dict, concurrency: int, rounds: int, max_tokens: int) -> dict:
    kv: list[float] = []
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency + 4)) as client:

        async def worker(w: int) -> list[list[float]]:
            out = []
            for r in range(rounds):
                base = urls["api"] if target_name == "api" else urls["llm"]
                request = streamed_request(target_name, base, urls["model"], max_tokens, f"gpu-{w}-{r}")
                out.append(await stream_pieces(client, *request))
            return out

        async def sample_kv() -> None:
            while True:
                try:
                    found = kv_cache_use((await client.get(urls["metrics"])).text)
                except httpx.HTTPError:
                    found = None
                if found is not None:
                    kv.append(found)
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_kv())
        started = time.perf_counter()
        streams = [s for ws in await asyncio.gather(*(worker(w) for w in range(concurrency))) for s in ws]
        elapsed = time.perf_counter() - started
        sampler.cancel()
    ttft = np.array([s[0] for s in streams if s]) * 1000
    gaps = np.concatenate([np.diff(s) for s in streams if len(s) > 1] or [np.array([np.nan])]) * 1000
    return {
        "target": target_name,
        "concurrency": concurrency,
        "streams": len(streams),
        "ttft_p50_ms": round(float(np.percentile(ttft, 50)), 1),
        "ttft_p95_ms": round(float(np.percentile(ttft, 95)), 1),
        "inter_token_p50_ms": round(float(np.nanpercentile(gaps, 50)), 2),
        "inter_token_p95_ms": round(float(np.nanpercentile(gaps, 95)), 2),
        "pieces_per_s_total": round(sum(len(s) for s in streams) / elapsed, 1),
        "kv_cache_use_max": round(max(kv), 3) if kv else None,
    }


def run_gpu(out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    device = device_name()
    llm = target("LLM_URL", "http://localhost:8100/v1")
    urls = {
        "api": target("API_URL", "http://localhost:8000"),
        "llm": llm,
        "model": target("LLM_MODEL", "llama-3.1-8b"),
        "metrics": f"{llm.removesuffix('/v1')}/metrics",
    }
    max_tokens, rounds = max(8, int(128 * scale)), max(1, int(3 * scale))
    for name in ("llm-server", "api"):  # warm-up: the first answer pays one-time costs
        asyncio.run(run_level(name, urls, 1, 1, 8))
    rows = []
    for concurrency in CONCURRENCY:
        for name in ("llm-server", "api"):
            report(f"{device}: {concurrency} streams, {name}")
            rows.append(asyncio.run(run_level(name, urls, concurrency, rounds, max_tokens)))
    run = {"device": device, "model": urls["model"], "max_tokens": max_tokens, "machine": machine(), "results": rows}
    return record_run(out, "streaming-llm-chat gpu", run, ("device", "model"), gpu_table)


def gpu_table(runs: list[dict]) -> str:
    lines = [
        "| device | model | target | streams | TTFT p50 ms | TTFT p95 ms | inter-token p50 ms | inter-token p95 ms "
        "| pieces/s total | KV cache use (max) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for r in run["results"]:
            kv = "—" if r["kv_cache_use_max"] is None else f"{r['kv_cache_use_max']:.1%}"
            lines.append(
                f"| {run['device']} | {run['model']} | {r['target']} | {r['concurrency']} | {r['ttft_p50_ms']} | "
                f"{r['ttft_p95_ms']} | {r['inter_token_p50_ms']} | {r['inter_token_p95_ms']} | "
                f"{r['pieces_per_s_total']} | {kv} |"
            )
    dates = sorted({run["machine"]["date"] for run in runs})
    lines += [
        "",
        f"`scripts/gpu-bench.sh` (`study bench streaming-llm-chat --gpu`), {', '.join(dates)}; a piece is one "
        "streamed chunk (one token, for vLLM).",
        "",
    ]
    return "\n".join(lines)
