"""Project 02, part ``tenant-fairness``: a noisy tenant and a quiet one share one chat service and
one llama.cpp server. The noisy tenant keeps 8 messages going at once; the quiet one sends one
message at a time. Two setups on the same stack, the service restarted between them: without a
per-tenant share (only the shared admission limits), and with the noisy tenant's share set to 2.
What changes is how long the quiet tenant waits for its first token."""

from __future__ import annotations

import asyncio
import hashlib
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

from study.bench.load import machine
from study.metrics_page import by_label

from .stack import running_stack

SHARED_LIMITS = {
    "STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS": "4",
    "STREAMING_LLM_CHAT_MAX_WAITING": "8",
    "STREAMING_LLM_CHAT_QUEUE_TIMEOUT_S": "600",
}
NOISY_CLIENTS = 8
NOISY_SHARE = 2
KEYS = {"noisy": "bench-noisy-key", "quiet": "bench-quiet-key"}
SETUPS = {"no per-tenant share": None, f"noisy tenant's share: {NOISY_SHARE}": NOISY_SHARE}
QUESTION = "My parcel has not arrived. What can I do?"


def tenants_env(noisy_share: int | None) -> dict[str, str]:
    """No share: the noisy tenant may hold as much as the shared limits allow, slots and line."""
    everything = int(SHARED_LIMITS["STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS"]) + int(
        SHARED_LIMITS["STREAMING_LLM_CHAT_MAX_WAITING"]
    )
    tenants = [
        {
            "name": name,
            "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
            "max_streams": (noisy_share or everything) if name == "noisy" else 4,
        }
        for name, key in KEYS.items()
    ]
    return {**SHARED_LIMITS, "STREAMING_LLM_CHAT_TENANTS": json.dumps(tenants)}


async def tenant_load(url: str, messages: int, max_tokens: int) -> dict:
    """The noisy tenant's clients run until the quiet tenant has sent its ``messages``, one by one."""
    done = asyncio.Event()
    noisy = {"answered": 0, "refused": 0}
    quiet_ttft: list[float] = []

    async def send(client: httpx.AsyncClient, tenant: str, conversation: str) -> httpx.Response:
        return await client.post(
            f"{url}/v1/conversations/{conversation}/messages",
            headers={"Authorization": f"Bearer {KEYS[tenant]}"},
            json={"content": QUESTION, "stream": False, "max_tokens": max_tokens},
        )

    async def noisy_client(client: httpx.AsyncClient, i: int) -> None:
        while not done.is_set():  # a new conversation each time: every prompt costs the same
            response = await send(client, "noisy", f"noisy-{i}-{time.monotonic_ns()}")
            if response.status_code == 429:  # a well-behaved client: it waits as it is told
                noisy["refused"] += 1
                await asyncio.sleep(float(response.headers["Retry-After"]))
            else:
                response.raise_for_status()
                noisy["answered"] += 1

    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=NOISY_CLIENTS + 4)) as client:
        started = time.perf_counter()
        clients = [asyncio.create_task(noisy_client(client, i)) for i in range(NOISY_CLIENTS)]
        await asyncio.sleep(2)  # the noisy tenant fills what it may
        for _ in range(messages):
            response = await send(client, "quiet", f"quiet-{time.monotonic_ns()}")
            response.raise_for_status()
            quiet_ttft.append(response.json()["timings"]["ttft_ms"])
        done.set()
        await asyncio.gather(*clients)
        seconds = time.perf_counter() - started
    return {
        "quiet_ttft_ms": [round(t, 1) for t in quiet_ttft],
        "noisy_answered": noisy["answered"],
        "noisy_refused": noisy["refused"],
        "seconds": round(seconds, 1),
    }


def tenant_tokens(url: str) -> dict[str, float]:
    return by_label(f"{url}/metrics", "streaming_llm_chat_tenant_tokens_total", "tenant")


def run_tenant_fairness(out: Path, scale: float, report: Callable[[str], None]) -> list[Path]:
    """The two setups take turns, ``rounds`` times each: this machine's speed drifts within minutes
    (llama.cpp's time per answer here sometimes triples for a while), and taking turns spreads that
    over both setups instead of charging it to one."""
    rounds, messages, max_tokens = max(1, int(3 * scale)), max(2, int(4 * scale)), 48
    runs: dict[str, list[dict]] = {setup: [] for setup in SETUPS}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_stack(Path(tmp), report=report, service_env=tenants_env(None), backend="llama.cpp") as stack,
    ):
        for i in range(rounds):
            for setup, share in SETUPS.items():
                stack.stop_service()
                stack.service_env = tenants_env(share)
                stack.start_service()  # a fresh service: its own metrics, the same LLM server and Redis
                report(f"tenant fairness, round {i + 1} of {rounds}: {setup}")
                runs[setup].append(
                    {
                        **asyncio.run(tenant_load(stack.url, messages, max_tokens)),
                        "tokens_by_tenant": tenant_tokens(stack.url),
                    }
                )
    rows = [summarise(setup, share, runs[setup]) for setup, share in SETUPS.items()]
    without, with_share = rows
    result = {
        "benchmark": "streaming-llm-chat/tenant-fairness",
        "machine": machine(),
        "backend": "llama.cpp",
        "shared_limits": SHARED_LIMITS,
        "noisy_clients": NOISY_CLIENTS,
        "max_tokens": max_tokens,
        "rounds": rounds,
        "setups": rows,
        "ratios": {
            "quiet_ttft_p50_share_over_none": round(with_share["quiet_ttft_p50_ms"] / without["quiet_ttft_p50_ms"], 2),
            "noisy_answers_per_s_share_over_none": round(
                with_share["noisy_answers_per_s"] / without["noisy_answers_per_s"], 2
            ),
            "all_answers_per_s_share_over_none": round(
                with_share["all_answers_per_s"] / without["all_answers_per_s"], 2
            ),
        },
    }
    paths = [out / "tenant-fairness.json", out / "tenant-fairness.png", out / "tenant-fairness.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    chart(result, paths[1])
    paths[2].write_text(table(result))
    return paths


def summarise(setup: str, share: int | None, runs: list[dict]) -> dict:
    ttft = [t for run in runs for t in run["quiet_ttft_ms"]]
    seconds = sum(run["seconds"] for run in runs)
    answered = sum(run["noisy_answered"] for run in runs)
    tokens = {tenant: sum(run["tokens_by_tenant"].get(tenant, 0) for run in runs) for tenant in KEYS}
    return {
        "setup": setup,
        "noisy_share": share,
        "quiet_messages": len(ttft),
        "quiet_ttft_ms": ttft,
        "quiet_ttft_p50_ms": round(float(np.median(ttft)), 1),
        "quiet_ttft_p95_ms": round(float(np.percentile(ttft, 95)), 1),
        "noisy_answered": answered,
        "noisy_refused": sum(run["noisy_refused"] for run in runs),
        "seconds": round(seconds, 1),
        "noisy_answers_per_s": round(answered / seconds, 2),
        "all_answers_per_s": round((answered + len(ttft)) / seconds, 2),
        "tokens_by_tenant": tokens,
        "runs": runs,
    }


def chart(result: dict, path: Path) -> None:
    host = result["machine"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, row in enumerate(result["setups"]):
        left.scatter([i] * len(row["quiet_ttft_ms"]), row["quiet_ttft_ms"], alpha=0.6)
        left.hlines(row["quiet_ttft_p50_ms"], i - 0.25, i + 0.25, colors="black")
    left.set_xticks(range(len(SETUPS)), list(SETUPS))
    left.set_ylim(bottom=0)
    left.set_title("Quiet tenant: time to first token (ms), each message; line: p50", fontsize=10)
    noisy = [row["noisy_answers_per_s"] for row in result["setups"]]
    quiet = [row["all_answers_per_s"] - row["noisy_answers_per_s"] for row in result["setups"]]
    right.bar(range(len(SETUPS)), noisy, color="tab:gray", label="noisy tenant")
    right.bar(range(len(SETUPS)), quiet, bottom=noisy, color="tab:blue", label="quiet tenant")
    right.set_xticks(range(len(SETUPS)), list(SETUPS))
    right.legend(fontsize=9)
    right.set_title("Answers per second, by tenant", fontsize=10)
    fig.suptitle(
        f"One llama.cpp server, two tenants: {host['cpu']}, {host['cores']} cores, {host['date']}", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(result: dict) -> str:
    host, q = result["machine"], result["ratios"]
    lines = [
        f"One llama.cpp server on CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        f"`study bench streaming-llm-chat --only tenant-fairness`; shared limits: "
        f"{result['shared_limits']['STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS']} generations in flight, "
        f"{result['shared_limits']['STREAMING_LLM_CHAT_MAX_WAITING']} waiting; "
        f"the noisy tenant runs {result['noisy_clients']} "
        f"clients that honour Retry-After; {result['max_tokens']} tokens per answer; the setups took turns, "
        f"{result['rounds']} runs each.",
        "",
        "| setup | quiet tenant TTFT p50 ms | p95 ms | noisy answers/s | all answers/s | noisy 429s "
        "| tokens noisy / quiet |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["setups"]:
        tokens = row["tokens_by_tenant"]
        lines.append(
            f"| {row['setup']} | {row['quiet_ttft_p50_ms']} | {row['quiet_ttft_p95_ms']} | "
            f"{row['noisy_answers_per_s']} | {row['all_answers_per_s']} | {row['noisy_refused']} | "
            f"{tokens.get('noisy', 0):.0f} / {tokens.get('quiet', 0):.0f} |"
        )
    lines += [
        "",
        f"Same run, with the share / without: quiet tenant's TTFT p50 "
        f"{q['quiet_ttft_p50_share_over_none']}×, noisy tenant's answers per second "
        f"{q['noisy_answers_per_s_share_over_none']}×, all answers per second "
        f"{q['all_answers_per_s_share_over_none']}×.",
    ]
    return "\n".join(lines) + "\n"
