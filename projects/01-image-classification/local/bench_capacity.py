"""Project 01, part ``capacity``: the API under open-loop load. A closed loop at 32 clients first
measures how many images a second the stack can answer; then Poisson arrivals at fractions of that
rate, lightest first, each request timed from when it was meant to leave. Dynamic batching on, the
response cache off (every request runs the model), distinct photos."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from study.bench.capacity import capacity_rows, write_capacity
from study.bench.load import closed_loop, knee, machine, sweep

from .stack import chelsea_crops, running_stack

# --8<-- [start:plan]
FRACTIONS = (0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.15)  # of the closed loop's capacity
OBJECTIVE_P99_MS = 100.0  # what this service promises its callers: 99 % of answers within 100 ms
# --8<-- [end:plan]


async def measure_capacity(url: str, images: list[bytes], seconds: float, report: Callable[[str], None]) -> dict:
    sent = iter(range(10**9))
    # No pool limit: a limit would queue requests in this process, out of the server's sight.
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=None)) as client:

        async def send(_intended: float | None = None) -> bool:
            image = images[next(sent) % len(images)]
            response = await client.post("/v1/classify", files={"image": ("cat.jpg", image, "image/jpeg")})
            return response.status_code == 200

        for _ in range(8):  # warm-up
            await send()
        closed = await closed_loop(send, 32, max(64, int(seconds * 40)))
        report(f"closed loop, 32 clients: {closed.throughput_rps:.1f} images/s")
        rates = [round(f * closed.throughput_rps, 2) for f in FRACTIONS]
        results = await sweep(send, rates, seconds, report=report)
    rows = capacity_rows(results, closed.throughput_rps)
    return {
        "closed_loop_32": closed.as_dict(),
        "capacity_rps": round(closed.throughput_rps, 2),
        "knee_rps": knee(results, OBJECTIVE_P99_MS, "p99_ms"),
        "results": rows,
    }


def run_capacity(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    images = chelsea_crops(1000, 200)  # distinct photos, none of them the warm-up's
    seconds = max(2.0, 15 * scale)
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(Path(tmp), response_cache=False, report=report) as stack:
            started = time.perf_counter()
            measured = asyncio.run(measure_capacity(stack.url, images, seconds, report))
            report(f"capacity part: {time.perf_counter() - started:.0f} s")
    result = {
        "benchmark": "image-classification capacity",
        "machine": machine(),
        "seconds_per_rate": seconds,
        "fractions_of_capacity": list(FRACTIONS),
        "objective_p99_ms": OBJECTIVE_P99_MS,
        **measured,
    }
    return publish(out, result)


def publish(out: Path, result: dict) -> list[Path]:
    """The JSON, chart and table of one run (or again, from its JSON)."""
    seconds = result["seconds_per_rate"]
    host = result["machine"]
    return write_capacity(
        out,
        result,
        OBJECTIVE_P99_MS,
        "p99_ms",
        f"Project 01, the API under Poisson arrivals — {host['cpu']}, {host['cores']} cores, {host['date']}",
        f"{host['cpu']}, {host['cores']} cores, {host['date']}, `study bench image-classification --only "
        f"capacity`; {seconds:.0f} s per rate, latencies from each request's intended send time. ρ: answered "
        f"over the closed loop's {result['capacity_rps']} images/s. In flight (seen): requests outstanding "
        "as each arrival found them; λW: answered per second × mean latency (Little's law). Send lag: how late "
        "the generator itself sent (it shares the cores).",
    )
