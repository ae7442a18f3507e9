"""Project 02, part ``capacity``: the chat service in front of llama.cpp under open-loop load, with
the admission limit the ``admission`` part recommends for it (one generation at a time; 8 waiting,
10 s of waiting at most; beyond: 429). A closed loop of 4 clients first measures how many answers a
second it gives; then Poisson arrivals at fractions of that rate,
lightest first, each answer timed from when its request was meant to leave: the first piece of text
(TTFT) and the whole answer. Each question opens a new conversation; answers are 16 tokens."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from study.bench.capacity import capacity_rows, write_capacity
from study.bench.load import closed_loop, knee, machine, open_loop
from study.llm_local import LocalLlamaCpp

from .stack import running_stack

LLAMA_CPP_LIMITS = {"STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS": "1"}  # waiting and its timeout as shipped
FRACTIONS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5)  # of the closed loop's capacity
OBJECTIVE_P95_MS = 2000.0  # a 16-token answer, whole, within 2 s for 95 % of questions
QUESTION = {"content": "Name three uses of a queue.", "max_tokens": 16}


def server_decode_ms(llm: LocalLlamaCpp, mark: int) -> float:
    """llama.cpp's own median decode time per token over the answers it logged after ``mark``."""
    found = llm.decode_ms_per_token_since(mark)
    return round(float(np.median(found)), 1) if found else float("nan")


async def measure_capacity(url: str, llm: LocalLlamaCpp, seconds: float, report: Callable[[str], None]) -> dict:
    ttft: list[float] = []
    refused = 0
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=None)) as client:

        async def send(intended: float | None = None) -> bool:
            nonlocal refused
            intended = intended or time.perf_counter()
            path = f"/v1/conversations/capacity-{time.monotonic_ns()}/messages"
            async with client.stream("POST", path, json=QUESTION) as response:
                if response.status_code == 429:
                    refused += 1
                if response.status_code != 200:
                    return False
                first = None
                async for line in response.aiter_lines():
                    if first is None and line.startswith("data: ") and json.loads(line[6:]).get("text"):
                        first = time.perf_counter() - intended
                if first is None:
                    return False
                ttft.append(first)
                return True

        for _ in range(2):  # warm-up
            await send()
        mark = llm.log_mark()
        closed = await closed_loop(send, 4, max(8, int(seconds)))
        closed_decode = server_decode_ms(llm, mark)
        report(f"closed loop, 4 clients: {closed.throughput_rps:.2f} answers/s")
        results, extra = [], []
        for n, fraction in enumerate(FRACTIONS):
            rate = round(fraction * closed.throughput_rps, 3)
            report(f"open loop at {rate:.2f} questions/s for {seconds:.0f} s")
            ttft.clear()
            refused, mark = 0, llm.log_mark()
            results.append(await open_loop(send, rate, seconds, seed=n))
            ms = np.array(ttft or [np.nan]) * 1000
            extra.append(
                {
                    "ttft_p50_ms": round(float(np.percentile(ms, 50)), 1),
                    "ttft_p95_ms": round(float(np.percentile(ms, 95)), 1),
                    "refused_429": refused,
                    "server_decode_ms_per_token": server_decode_ms(llm, mark),
                }
            )
            await asyncio.sleep(3)  # the queue empties before the next rate
    return {
        "closed_loop_4": {**closed.as_dict(), "server_decode_ms_per_token": closed_decode},
        "capacity_rps": round(closed.throughput_rps, 3),
        "knee_rps": knee(results, OBJECTIVE_P95_MS, "p95_ms"),
        "results": capacity_rows(results, closed.throughput_rps, extra),
    }


def run_capacity(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    seconds = max(4.0, 40 * scale)
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(Path(tmp), report=report, service_env=LLAMA_CPP_LIMITS, backend="llama.cpp") as stack:
            started = time.perf_counter()
            measured = asyncio.run(measure_capacity(stack.url, stack.llm, seconds, report))
            report(f"capacity part: {time.perf_counter() - started:.0f} s")
    result = {
        "benchmark": "streaming-llm-chat capacity",
        "machine": machine(),
        "backend": "llama.cpp",
        "service_env": LLAMA_CPP_LIMITS,
        "seconds_per_rate": seconds,
        "fractions_of_capacity": list(FRACTIONS),
        "question": QUESTION,
        "objective_p95_ms": OBJECTIVE_P95_MS,
        **measured,
    }
    return publish(out, result)


def publish(out: Path, result: dict) -> list[Path]:
    """The JSON, chart and table of one run (or again, from its JSON)."""
    seconds = result["seconds_per_rate"]
    host = result["machine"]
    columns = {
        "ttft_p50_ms": "TTFT p50 ms",
        "ttft_p95_ms": "TTFT p95 ms",
        "refused_429": "refused (429)",
        "server_decode_ms_per_token": "server's decode ms/token",
    }
    note = (
        f"llama.cpp on CPU, one generation at a time, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench streaming-llm-chat --only capacity`; {seconds:.0f} s per rate, 16-token answers, "
        "latencies (whole answer, and TTFT) from each question's intended send time. ρ: answered over the "
        f"closed loop's {result['capacity_rps']} answers/s (the server decoding at "
        f"{result['closed_loop_4']['server_decode_ms_per_token']} ms per token). Errors include the refusals; "
        "the server's decode time is its own log's median over the rate's answers."
    )
    title = f"Project 02, the chat service, Poisson arrivals — {host['cpu']}, {host['cores']} cores, {host['date']}"
    return write_capacity(out, result, OBJECTIVE_P95_MS, "p95_ms", title, note, columns)
