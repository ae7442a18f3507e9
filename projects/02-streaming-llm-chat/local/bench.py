"""Benchmark of project 02, in three parts.

``streams``: time to first token and tokens/s per stream at 1, 4 and 16 concurrent streams, through
the service and straight to the LLM server, for llama.cpp and vLLM (CPU), in one run; plus the
service's memory while it holds the most streams.

``prefix-reuse``: a conversation's follow-up right after its first turn, against the same follow-up
after another conversation ran in between, on both servers; each says how many prompt tokens came
from its KV cache (llama.cpp in its log, vLLM in its metrics).

``tenant-fairness`` (its own module): a noisy tenant against a quiet one, with and without a
per-tenant share of the generation slots.

``admission``: llama.cpp's server generates for one request at a time. Sixteen clients at once,
straight to it, then through the service with its admission limit at 16 and at 1, each on a fresh
server: time to first token, tokens/s, and the server's own decoding speed from its log.

``capacity`` (its own module): the service under open-loop load at rising rates."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from streaming_llm_chat.services.context import TokenCounter
from streaming_llm_chat.settings import Settings
from study.bench.charts import format_concurrency_panels
from study.bench.load import machine
from study.bench.parts import run_parts
from study.llm_local import smollm2_tokenizer
from study.paths import DOCS_DIR
from study.processes import resident_mb

from .bench_capacity import run_capacity
from .bench_tenants import run_tenant_fairness
from .stack import running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / Path(__file__).resolve().parents[1].name / "results"
CONCURRENCY = (1, 4, 16)
PROMPT = "Write a long story about a dragon who learns to bake bread. Use at least 800 words."
LIMITS = {
    "STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS": "16",
    "STREAMING_LLM_CHAT_MAX_WAITING": "64",
    "STREAMING_LLM_CHAT_QUEUE_TIMEOUT_S": "600",
}


async def one_stream(client: httpx.AsyncClient, url: str, body: dict, parse) -> tuple[float | None, float, str]:
    """(seconds to the first piece, seconds in total, text) of one streamed answer."""
    started = time.perf_counter()
    first = None
    text = []
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            piece = parse(line)
            if piece:
                first = first or time.perf_counter() - started
                text.append(piece)
    return first, time.perf_counter() - started, "".join(text)


def parse_service(line: str) -> str:
    if line.startswith("data: "):
        return json.loads(line[6:]).get("text", "")
    return ""


def parse_openai(line: str) -> str:
    if line.startswith("data: ") and line != "data: [DONE]":
        choices = json.loads(line[6:]).get("choices") or [{}]
        return (choices[0].get("delta") or {}).get("content") or ""
    return ""


def streamed_request(target: str, base_url: str, model: str, max_tokens: int, tag: str) -> tuple[str, dict, Callable]:
    """(url, body, parser) of one streamed answer to PROMPT: through the service ("api", a new
    conversation named after ``tag``) or straight to the LLM server, with the service's system prompt."""
    if target == "api":
        url = f"{base_url}/v1/conversations/bench-{tag}-{time.monotonic_ns()}/messages"
        return url, {"content": PROMPT, "max_tokens": max_tokens}, parse_service
    system = Settings.model_fields["system_prompt"].default
    body = {
        "model": model,
        "max_tokens": max_tokens,
        "stream": True,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": PROMPT}],
    }
    return f"{base_url}/chat/completions", body, parse_openai


async def run_level(
    target: str, stack, concurrency: int, rounds: int, max_tokens: int, counter: TokenCounter, rss: list[float]
) -> dict:
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency + 4)) as client:

        async def worker(w: int):
            results = []
            for r in range(rounds):
                base = stack.url if target == "api" else stack.llm.base_url
                request = streamed_request(target, base, "local", max_tokens, f"{w}-{r}")
                results.append(await one_stream(client, *request))
            return results

        async def sample_rss():
            while True:
                rss.append(resident_mb(stack.service.proc.pid))
                await asyncio.sleep(0.2)

        sampler = asyncio.create_task(sample_rss())
        started = time.perf_counter()
        streams = [s for ws in await asyncio.gather(*(worker(w) for w in range(concurrency))) for s in ws]
        elapsed = time.perf_counter() - started
        sampler.cancel()
    ttft = np.array([s[0] for s in streams if s[0] is not None]) * 1000
    tokens = [counter.count(s[2]) for s in streams]
    per_stream = [
        (n - 1) / (total - first)
        for (first, total, _), n in zip(streams, tokens, strict=True)
        if n > 1 and total > first
    ]
    return {
        "target": target,
        "concurrency": concurrency,
        "streams": len(streams),
        "ttft_p50_ms": round(float(np.percentile(ttft, 50)), 1),
        "ttft_p95_ms": round(float(np.percentile(ttft, 95)), 1),
        "tokens_per_s_per_stream": round(float(np.median(per_stream)), 1),
        "tokens_per_s_total": round(sum(tokens) / elapsed, 1),
    }


def example_stream(url: str) -> str:
    """One real, short answer as it crosses the wire, shown on the docs page."""
    with httpx.stream(
        "POST",
        f"{url}/v1/conversations/example-{time.monotonic_ns()}/messages",
        timeout=120,
        json={"content": "Hello! Can you help me with my order?", "max_tokens": 6},
    ) as response:
        return "".join(line + "\n" for line in response.iter_lines())


PARTS = ("streams", "prefix-reuse", "tenant-fairness", "admission", "capacity")


def run(
    out: Path | None = None,
    scale: float = 1.0,
    report: Callable[[str], None] = print,
    backends: tuple[str, ...] = ("llama.cpp", "vllm"),
    only: str | None = None,
) -> list[Path]:
    """All parts, or ``only`` the one named. tenant-fairness runs on llama.cpp alone: it measures
    the service's policy, not the server."""
    runners = (
        lambda to: run_streams(to, scale, report, backends),
        lambda to: run_prefix_reuse(to, scale, report, backends),
        lambda to: run_tenant_fairness(to, scale, report),
        lambda to: run_admission(to, scale, report),
        lambda to: run_capacity(to, scale, report),
    )
    return run_parts(dict(zip(PARTS, runners, strict=True)), out or DEFAULT_OUT, only)


def run_streams(out: Path, scale: float, report: Callable[[str], None], backends: tuple[str, ...]) -> list[Path]:
    counter = TokenCounter(str(smollm2_tokenizer(report)))
    max_tokens = max(8, int(64 * scale))
    rounds = max(1, int(2 * scale))
    results, startup, memory = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            started = time.perf_counter()
            with running_stack(Path(tmp) / backend, report=report, service_env=LIMITS, backend=backend) as stack:
                startup[backend] = round(time.perf_counter() - started, 1)
                assert stack.service is not None and stack.service.proc is not None
                idle = resident_mb(stack.service.proc.pid)
                peak: list[float] = []
                for target in ("llm-server", "api"):  # warm-up: the first answer pays one-time costs
                    asyncio.run(run_level(target, stack, 1, 1, 8, counter, peak))
                for concurrency in CONCURRENCY:
                    for target in ("llm-server", "api"):
                        report(f"{backend}: {concurrency} streams, {target}")
                        row = asyncio.run(run_level(target, stack, concurrency, rounds, max_tokens, counter, peak))
                        results.append({"backend": backend, **row})
                memory[backend] = {"service_rss_idle_mb": round(idle, 1), "service_rss_peak_mb": round(max(peak), 1)}
                example = example_stream(stack.url)  # the last backend's (vLLM's: usage from the server)
    result = {
        "benchmark": "streaming-llm-chat",
        "machine": machine(),
        "model": "SmolLM2-135M-Instruct (Q4_1 GGUF / fp32 safetensors)",
        "max_tokens": max_tokens,
        "streams_per_client": rounds,
        "startup_s": startup,
        "memory": memory,
        "results": results,
        "ratios": ratios(results, backends),
    }
    paths = [out / "benchmark.json", out / "benchmark.png", out / "benchmark.md", out / "example-stream.txt"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[3].write_text(example)
    chart(results, backends, result["machine"], paths[1])
    paths[2].write_text(table(result, backends))
    return paths


def _row(results, backend, target, concurrency):
    return next(r for r in results if (r["backend"], r["target"], r["concurrency"]) == (backend, target, concurrency))


def ratios(results: list[dict], backends) -> dict:
    out = {}
    for b in backends:
        for c in CONCURRENCY:
            api, direct = _row(results, b, "api", c), _row(results, b, "llm-server", c)
            out[f"{b}_api_over_server_ttft_p50_c{c}"] = round(api["ttft_p50_ms"] / direct["ttft_p50_ms"], 2)
            out[f"{b}_api_over_server_tokens_per_s_c{c}"] = round(
                api["tokens_per_s_per_stream"] / direct["tokens_per_s_per_stream"], 2
            )
    return out


def chart(results, backends, host, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for b in backends:
        for target, style in (("llm-server", "--"), ("api", "-")):
            rows = [_row(results, b, target, c) for c in CONCURRENCY]
            label = f"{b}, {'through the API' if target == 'api' else 'direct'}"
            left.plot(CONCURRENCY, [r["ttft_p50_ms"] for r in rows], style, marker="o", label=label)
            right.plot(CONCURRENCY, [r["tokens_per_s_total"] for r in rows], style, marker="o", label=label)
    left.set_yscale("log")  # llama.cpp's queueing and vLLM's batching differ by an order of magnitude
    format_concurrency_panels(
        fig,
        [(left, "Time to first token, p50 (ms, log scale)"), (right, "Tokens/s, all streams together")],
        CONCURRENCY,
        "concurrent streams",
        f"SmolLM2-135M on CPU: {host['cpu']}, {host['cores']} cores, {host['date']}",
        path,
    )
    plt.close(fig)


def table(result: dict, backends) -> str:
    host = result["machine"]
    lines = [
        f"LLM servers on CPU (local mode), {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench streaming-llm-chat`; {result['max_tokens']} tokens per answer, "
        f"{result['streams_per_client']} answers per client.",
        "",
        "| backend | path | streams | TTFT p50 ms | TTFT p95 ms | tokens/s per stream | tokens/s total |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['backend']} | {'API' if r['target'] == 'api' else 'direct'} | {r['concurrency']} | "
            f"{r['ttft_p50_ms']} | {r['ttft_p95_ms']} | {r['tokens_per_s_per_stream']} | "
            f"{r['tokens_per_s_total']} |"
        )
    lines += ["", "| backend | start-up s | service RSS idle MiB | service RSS peak MiB |", "|---|---:|---:|---:|"]
    for b in backends:
        m = result["memory"][b]
        lines.append(f"| {b} | {result['startup_s'][b]} | {m['service_rss_idle_mb']} | {m['service_rss_peak_mb']} |")
    lines += [
        "",
        "| ratio, API / direct (same run) | " + " | ".join(f"{c} streams" for c in CONCURRENCY) + " |",
        "|---|" + "---:|" * len(CONCURRENCY),
    ]
    for b in backends:
        q = result["ratios"]
        lines.append(
            f"| {b}: TTFT p50 | "
            + " | ".join(f"{q[f'{b}_api_over_server_ttft_p50_c{c}']}×" for c in CONCURRENCY)
            + " |"
        )
        lines.append(
            f"| {b}: tokens/s per stream | "
            + " | ".join(f"{q[f'{b}_api_over_server_tokens_per_s_c{c}']}×" for c in CONCURRENCY)
            + " |"
        )
    return "\n".join(lines) + "\n"


# A customer's first message, long enough that recomputing the history shows; it names the customer
# first, so that two conversations share no more than the system prompt. Then a short follow-up.
FIRST_MESSAGE = (
    "Hello, this is customer {customer}. I am writing about my order placed on the 3rd of November: two "
    "pairs of running shoes (size 42 and size 44), a rain jacket in dark blue and a set of three water "
    "bottles. The order was shipped on the 5th to my office address in Berlin, Friedrichstrasse 100, and "
    "the tracking page has said 'in transit' for sixteen days now. I contacted the courier twice; they "
    "told me to ask you. The shoes were a birthday present for next Saturday. What are my options?"
)
FOLLOW_UP = "Could you refund me instead of sending the parcel again?"
OTHER_MESSAGE = "How do I change the e-mail address on my account?"
CASES = ("right after its first turn", "after another conversation")
OTHER_TURN = "the other conversation's turn"  # all it shares with the others: the system prompt


def say(client: httpx.Client, conversation: str, content: str, max_tokens: int) -> float | None:
    """Send one message; the service's time to first token (ms) for it."""
    response = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": content, "stream": False, "max_tokens": max_tokens},
    )
    response.raise_for_status()
    return response.json()["timings"]["ttft_ms"]


# --8<-- [start:prefix-reuse-run]
def follow_ups(stack, client: httpx.Client, customer: str, max_tokens: int) -> list[dict]:
    """The same follow-up in two conversations: one sent right after its first turn, one after
    another conversation's turn. How much of each prompt, and of that other turn's, came from the
    server's KV cache. Rows in the order sent: the first case, the other turn, the second case."""

    def sent(case: str, conversation: str, content: str) -> dict:
        mark = stack.llm.prefix_cache_mark()
        ttft = say(client, conversation, content, max_tokens)
        return {"case": case, "ttft_ms": ttft, **vars(stack.llm.prefix_reuse_since(mark))}

    rows: list[dict] = []
    for case, between in zip(CASES, (None, OTHER_MESSAGE), strict=False):
        conversation = f"c{customer}-{time.monotonic_ns()}"
        say(client, conversation, FIRST_MESSAGE.format(customer=f"{customer}-{len(rows)}"), max_tokens)
        if between:
            rows.append(sent(OTHER_TURN, f"other-{time.monotonic_ns()}", between))
        rows.append(sent(case, conversation, FOLLOW_UP))
    return rows


# --8<-- [end:prefix-reuse-run]


def median_follow_up(rows: list[dict], backend: str, case: str) -> dict:
    mine = [r for r in rows if (r["backend"], r["case"]) == (backend, case)]
    return {
        "backend": backend,
        "case": case,
        "ttft_p50_ms": round(float(np.median([r["ttft_ms"] for r in mine])), 1),
        "reused_tokens_median": int(np.median([r["reused"] for r in mine])),
        "computed_tokens_median": int(np.median([r["computed"] for r in mine])),
    }


def run_prefix_reuse(out: Path, scale: float, report: Callable[[str], None], backends: tuple[str, ...]) -> list[Path]:
    rounds, max_tokens = max(2, int(8 * scale)), 48
    rows, summary, ratios = [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with (
                running_stack(Path(tmp) / backend, report=report, service_env=LIMITS, backend=backend) as stack,
                httpx.Client(base_url=stack.url, timeout=300) as client,
            ):
                say(client, f"warm-{time.monotonic_ns()}", OTHER_MESSAGE, 8)
                for i in range(rounds):
                    report(f"{backend}: prefix reuse, round {i + 1} of {rounds}")
                    rows += [{"backend": backend, **row} for row in follow_ups(stack, client, str(i), max_tokens)]
            kept, lost = (median_follow_up(rows, backend, case) for case in CASES)
            summary += [kept, lost]
            ratios[f"{backend}_ttft_after_other_over_right_after"] = round(lost["ttft_p50_ms"] / kept["ttft_p50_ms"], 2)
            ratios[f"{backend}_computed_after_other_over_right_after"] = round(
                lost["computed_tokens_median"] / max(1, kept["computed_tokens_median"]), 1
            )
    result = {
        "benchmark": "streaming-llm-chat/prefix-reuse",
        "machine": machine(),
        "rounds": rounds,
        "max_tokens": max_tokens,
        "follow_ups": rows,
        "summary": summary,
        "ratios": ratios,
    }
    paths = [out / "prefix-reuse.json", out / "prefix-reuse.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(prefix_reuse_table(result, backends))
    return paths


def prefix_reuse_table(result: dict, backends: tuple[str, ...]) -> str:
    host, q = result["machine"], result["ratios"]
    lines = [
        f"LLM servers on CPU (local mode), {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench streaming-llm-chat --only prefix-reuse`; {result['rounds']} follow-ups per row, "
        f"medians.",
        "",
        "| server | the follow-up was sent | prompt tokens reused from the KV cache | prompt tokens computed "
        "| TTFT p50 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['backend']} | {row['case']} | {row['reused_tokens_median']} | "
            f"{row['computed_tokens_median']} | {row['ttft_p50_ms']} |"
        )
    lines += [
        "",
        "| ratio (same run), after another conversation / right after | prompt tokens computed | TTFT |",
        "|---|---:|---:|",
    ]
    for backend in backends:
        lines.append(
            f"| {backend} | {q[f'{backend}_computed_after_other_over_right_after']}× | "
            f"{q[f'{backend}_ttft_after_other_over_right_after']}× |"
        )
    return "\n".join(lines) + "\n"


# --8<-- [start:admission]
ADMISSION = (  # (what is measured, where the clients send, the service's limit on generations at once)
    ("straight to llama.cpp", "llm-server", "16"),
    ("through the service, at most 16 at once", "api", "16"),
    ("through the service, at most 1 at once", "api", "1"),
)
ADMISSION_CLIENTS = 16


def run_admission(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    counter = TokenCounter(str(smollm2_tokenizer(report)))
    max_tokens, rounds = max(8, int(64 * scale)), max(1, int(2 * scale))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, target, limit) in enumerate(ADMISSION):
            env = {**LIMITS, "STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS": limit}
            with running_stack(Path(tmp) / str(i), report=report, service_env=env, backend="llama.cpp") as stack:
                asyncio.run(run_level(target, stack, 1, 1, 8, counter, []))  # warm-up
                mark = stack.llm.log_mark()
                report(f"llama.cpp, {ADMISSION_CLIENTS} clients: {label}")
                row = asyncio.run(run_level(target, stack, ADMISSION_CLIENTS, rounds, max_tokens, counter, []))
                decode = stack.llm.decode_ms_per_token_since(mark)
            rows.append({"case": label, **row, "server_decode_ms_per_token_p50": round(float(np.median(decode)), 2)})
    result = {
        "benchmark": "streaming-llm-chat admission",
        "machine": machine(),
        "clients": ADMISSION_CLIENTS,
        "max_tokens": max_tokens,
        "streams_per_client": rounds,
        "results": rows,
    }
    paths = [out / "admission.json", out / "admission.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    paths[1].write_text(admission_table(result))
    return paths


# --8<-- [end:admission]


def admission_table(result: dict) -> str:
    host = result["machine"]
    lines = [
        f"llama.cpp (llama-cpp-python's server) on CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench streaming-llm-chat --only admission`; {result['clients']} clients at once, "
        f"{result['streams_per_client']} answers each, {result['max_tokens']} tokens per answer, "
        "a fresh server per row.",
        "",
        "| clients send | TTFT p50 ms | TTFT p95 ms | tokens/s per stream | tokens/s total "
        "| server's decode, ms per token |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['case']} | {r['ttft_p50_ms']} | {r['ttft_p95_ms']} | {r['tokens_per_s_per_stream']} | "
            f"{r['tokens_per_s_total']} | {r['server_decode_ms_per_token_p50']} |"
        )
    return "\n".join(lines) + "\n"
