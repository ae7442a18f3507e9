"""Load generators. ``closed_loop``: ``concurrency`` workers, each sending its next request when the
last one answered, until ``requests`` have been sent. ``open_loop``: requests sent at Poisson
arrival times fixed in advance, whatever the answers do, each timed from when it was meant to go
out. ``sweep`` runs the open loop at several rates and ``knee`` reads the highest rate that met a
latency objective."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import numpy as np


@dataclass
class LoadResult:
    concurrency: int
    requests: int
    errors: int
    seconds: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    def as_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


# --8<-- [start:closed-loop]
async def closed_loop(send: Callable[[], Awaitable[bool]], concurrency: int, requests: int) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    remaining = requests

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            ok = await send()
            latencies.append(time.perf_counter() - started)
            errors += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return LoadResult(
        concurrency,
        requests,
        errors,
        elapsed,
        requests / elapsed,
        float(np.percentile(ms, 50)),
        float(np.percentile(ms, 95)),
        float(np.percentile(ms, 99)),
    )


# --8<-- [end:closed-loop]


@dataclass
class OpenLoopResult:
    offered_rps: float  # the arrival rate asked for
    seconds: float  # how long arrivals ran
    sent: int
    arrived_rps: float  # what the Poisson draw actually sent per second (near offered_rps)
    errors: int  # failed answers, and answers still missing when the drain ran out
    achieved_rps: float  # good answers per second, from the first arrival to the last answer
    p50_ms: float  # latencies from the intended send time, good answers only
    p95_ms: float
    p99_ms: float
    mean_ms: float
    in_flight_seen: float  # requests outstanding as each arrival saw them, on average
    send_lag_p99_ms: float  # how late the generator itself sent: its own health check

    @property
    def littles_law_in_flight(self) -> float:
        """L = λW: good answers per second times the mean time each spent in the system."""
        return self.achieved_rps * self.mean_ms / 1000

    def as_dict(self) -> dict:
        out = {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}
        return {**out, "littles_law_in_flight": round(self.littles_law_in_flight, 3)}


# --8<-- [start:open-loop]
def poisson_arrivals(rate_rps: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Intended send times, in seconds from the start: exponential gaps, so arrivals are independent
    of each other and of the answers, as those of many separate users are."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / rate_rps, size=int(rate_rps * seconds * 2) + 16)
    times = np.cumsum(gaps)
    return times[times < seconds]


async def open_loop(
    send: Callable[[float], Awaitable[bool]], rate_rps: float, seconds: float, seed: int = 0, drain_s: float = 120
) -> OpenLoopResult:
    """Send at ``rate_rps`` for ``seconds``, never waiting for an answer before the next arrival.
    ``send(intended)`` gets the ``time.perf_counter()`` at which the request was meant to leave.
    Each latency runs from that intended time, so a request that waited behind a slow one (in the
    generator, a connection pool or the server) carries the wait: no coordinated omission."""
    schedule = poisson_arrivals(rate_rps, seconds, seed)
    latencies = np.full(len(schedule), np.nan)
    lags, seen = np.zeros(len(schedule)), np.zeros(len(schedule))
    outstanding = 0

    async def one(i: int, intended: float) -> None:
        nonlocal outstanding
        outstanding += 1
        try:
            if await send(intended):
                latencies[i] = time.perf_counter() - intended
        except Exception:  # an error answer, a refused connection, a timeout: counted, not raised
            pass
        finally:
            outstanding -= 1

    start = time.perf_counter()
    tasks = []
    for i, at in enumerate(schedule):
        intended = start + at
        if (delay := intended - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        lags[i], seen[i] = time.perf_counter() - intended, outstanding
        tasks.append(asyncio.create_task(one(i, intended)))
    _, pending = await asyncio.wait(tasks, timeout=drain_s) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    finished = time.perf_counter()
    good = latencies[~np.isnan(latencies)]
    ms = good * 1000 if len(good) else np.array([np.nan])
    last_answer = max(float(np.nanmax(start + schedule + latencies)), start) if len(good) else finished
    return OpenLoopResult(
        offered_rps=rate_rps,
        seconds=seconds,
        sent=len(schedule),
        arrived_rps=len(schedule) / seconds,
        errors=len(schedule) - len(good),
        achieved_rps=len(good) / max(last_answer - start, 1e-9),
        p50_ms=float(np.percentile(ms, 50)),
        p95_ms=float(np.percentile(ms, 95)),
        p99_ms=float(np.percentile(ms, 99)),
        mean_ms=float(ms.mean()),
        in_flight_seen=float(seen.mean()) if len(seen) else 0.0,
        send_lag_p99_ms=float(np.percentile(lags, 99) * 1000) if len(lags) else 0.0,
    )


# --8<-- [end:open-loop]


async def sweep(
    send: Callable[[float], Awaitable[bool]],
    rates: list[float],
    seconds: float,
    pause_s: float = 2.0,
    report: Callable[[str], None] = lambda _: None,
) -> list[OpenLoopResult]:
    """The open loop at each rate in turn, lightest first, with a pause between for queues to empty."""
    results = []
    for n, rate in enumerate(sorted(rates)):
        report(f"open loop at {rate:.2f} requests/s for {seconds:.0f} s")
        results.append(await open_loop(send, rate, seconds, seed=n))
        await asyncio.sleep(pause_s)
    return results


# --8<-- [start:knee]
def knee(
    results: list[OpenLoopResult], objective_ms: float, percentile: str = "p99_ms", min_delivered: float = 0.95
) -> float | None:
    """The highest offered rate at which the service kept up (answered at least ``min_delivered`` of
    the rate that arrived, with no errors) and the latency ``percentile`` met the objective, as had
    every lighter rate; None if the lightest did not. Beyond it the queue, not the work, sets the
    latency."""
    best = None
    for r in sorted(results, key=lambda r: r.offered_rps):
        if r.errors or r.achieved_rps < min_delivered * r.arrived_rps or getattr(r, percentile) > objective_ms:
            break
        best = r.offered_rps
    return best


# --8<-- [end:knee]


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": platform.system(),
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
