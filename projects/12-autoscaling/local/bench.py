"""Benchmark of project 12, in one run on one machine:

* one traffic trace (idle, a trickle, a burst, idle again, a steady stream), sent **open-loop**:
  Poisson arrivals at each phase's rate, every request sent at its intended time whatever the others
  are doing, its time to first token measured from that intended time (no coordinated omission);
* the same trace against each scaling policy: one fixed replica, the maximum fixed, and autoscaling
  from zero with two settings (and one that keeps a replica warm). Per policy: replica-seconds (the
  cost), time to first token p50/p95, the share over the SLO, requests refused;
* what KEDA and the HPA would have decided on the same demand, calculated from their published
  rules (labelled as a calculation, not a measurement);
* the cold start taken apart: Ray starting the replica, the model server's process, the model's
  load, the first token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from autoscaling.settings import ScalingPolicy
from study.bench.load import machine
from study.metrics_page import metric_total
from study.paths import DOCS_DIR
from study.service import Report

from .stack import LOCAL_POLICY, Stack, running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / "12-autoscaling" / "results"
SLO_TTFT_S = 2.0
QUESTION = {"messages": [{"role": "user", "content": "Name three uses of a queue."}], "max_tokens": 48, "stream": True}

# (phase, seconds at scale 1, requests per second)
TRACE = (("idle", 20, 0.0), ("trickle", 30, 0.3), ("burst", 20, 3.0), ("idle again", 30, 0.0), ("steady", 30, 1.0))

POLICIES = {
    "fixed: 1 replica": LOCAL_POLICY.model_copy(update={"min_replicas": 1, "max_replicas": 1}),
    "fixed: 2 replicas": LOCAL_POLICY.model_copy(update={"min_replicas": 2, "max_replicas": 2}),
    "autoscale 0-2, target 2": LOCAL_POLICY,
    "autoscale 0-2, target 1, quick to zero": LOCAL_POLICY.model_copy(
        update={"target_ongoing_requests": 1, "downscale_delay_s": 5, "downscale_to_zero_delay_s": 5}
    ),
    "autoscale 1-2 (one kept warm)": LOCAL_POLICY.model_copy(update={"min_replicas": 1}),
}


# --8<-- [start:open-loop]
def arrivals(scale: float, seed: int = 12) -> list[tuple[float, str]]:
    """Intended send times (seconds from the start) and their phase: Poisson arrivals at each
    phase's rate, so the gaps are exponential and independent of how fast answers come."""
    rng = np.random.default_rng(seed)
    out, start = [], 0.0
    for phase, seconds, rate in TRACE:
        length = seconds * scale
        t = start
        while rate > 0:
            t += rng.exponential(1 / rate)
            if t >= start + length:
                break
            out.append((t, phase))
        start += length
    return out


@dataclass
class Sent:
    intended: float  # seconds from the trace's start
    phase: str
    status: int = 0
    ttft_s: float = math.nan  # from the intended send time to the first token
    done_s: float = math.nan


async def send_open_loop(url: str, schedule: list[tuple[float, str]]) -> list[Sent]:
    """Each request starts at its intended time, in its own task: a slow answer delays nothing."""
    results = [Sent(t, phase) for t, phase in schedule]
    origin = time.monotonic()

    async def one(http: httpx.AsyncClient, sent: Sent) -> None:
        await asyncio.sleep(max(0.0, origin + sent.intended - time.monotonic()))
        async with http.stream("POST", "/v1/chat/completions", json=QUESTION) as answer:
            sent.status = answer.status_code
            async for line in answer.aiter_lines():
                if line.startswith("data: {") and math.isnan(sent.ttft_s):
                    sent.ttft_s = time.monotonic() - origin - sent.intended
        sent.done_s = time.monotonic() - origin - sent.intended

    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        await asyncio.gather(*(one(http, sent) for sent in results))
    return results


# --8<-- [end:open-loop]


def _samples(stack: Stack, since: float, until: float) -> list[dict]:
    lines = stack.replicas_file.read_text().splitlines()
    return [r for r in map(json.loads, lines) if since <= r["t"] <= until]


def _up(states: dict) -> int:
    """Replicas that cost: running, or starting (a starting replica holds its CPU or GPU already)."""
    return int(states.get("RUNNING", 0)) + int(states.get("STARTING", 0))


def replica_seconds(samples: list[dict]) -> float:
    """The area under replicas over time: what the policy paid for."""
    return sum(_up(before["replicas"]) * (after["t"] - before["t"]) for before, after in itertools.pairwise(samples))


async def _watch_queue(url: str, stop: asyncio.Event, out: list[tuple[float, float, float]]) -> None:
    """The router's gauges every half second: (time, waiting, in flight)."""
    while not stop.is_set():
        waiting, in_flight = await asyncio.gather(
            asyncio.to_thread(metric_total, f"{url}/metrics", "autoscaling_requests_waiting"),
            asyncio.to_thread(metric_total, f"{url}/metrics", "autoscaling_requests_in_flight"),
        )
        out.append((time.time(), waiting, in_flight))
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.5)
        except TimeoutError:
            pass


async def _run_trace(url: str, schedule: list) -> tuple[list[Sent], list]:
    stop, queue = asyncio.Event(), list[tuple[float, float, float]]()
    watcher = asyncio.create_task(_watch_queue(url, stop, queue))
    results = await send_open_loop(url, schedule)
    stop.set()
    await watcher
    return results, queue


def settle(stack: Stack, policy: ScalingPolicy, timeout_s: float = 180) -> None:
    """Wait until the policy's resting state: min_replicas running, nothing starting or stopping."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = stack.replicas()
        if states.get("RUNNING", 0) == policy.min_replicas and set(states) <= {"RUNNING"}:
            return
        time.sleep(0.5)


def run_policy(stack: Stack, name: str, policy: ScalingPolicy, schedule: list, report: Report) -> dict:
    report(f"policy {name}: deploying and settling")
    stack.redeploy(policy)
    settle(stack, policy)
    report(f"policy {name}: sending the trace ({len(schedule)} requests)")
    started = time.time()
    results, queue = asyncio.run(_run_trace(stack.url, schedule))
    ended = time.time()
    samples = _samples(stack, started, ended)
    served = [r for r in results if r.status == 200]
    ttft = np.array([r.ttft_s for r in served if not math.isnan(r.ttft_s)]) if served else np.array([np.nan])
    return {
        "policy": name,
        "settings": policy.model_dump(),
        "requests": len(results),
        "served": len(served),
        "refused_429": sum(r.status == 429 for r in results),
        "failed": sum(r.status not in (200, 429) for r in results),
        "replica_seconds": round(replica_seconds(samples), 1),
        "ttft_p50_s": round(float(np.nanpercentile(ttft, 50)), 3),
        "ttft_p95_s": round(float(np.nanpercentile(ttft, 95)), 3),
        "over_slo_share": round(float(np.mean(ttft > SLO_TTFT_S)), 3),
        "timeline": {
            "replicas": [(round(s["t"] - started, 2), _up(s["replicas"])) for s in samples],
            "queue": [(round(t - started, 2), waiting, in_flight) for t, waiting, in_flight in queue],
            "arrivals": [round(r.intended, 2) for r in results],
        },
    }  # fmt: skip


# --8<-- [start:keda]
def keda_hpa_replicas(
    demand: list[tuple[float, float]],
    target: float,
    max_replicas: int,
    activation: float = 0.0,
    cooldown_s: float = 300.0,
    scale_down_window_s: float = 300.0,
    tolerance: float = 0.1,
) -> list[tuple[float, int]]:
    """What KEDA + the HPA would run, second by second, for a demand series (time, requests in
    flight), by their published rules: KEDA activates 0 -> 1 when the metric exceeds
    ``activation`` and returns to 0 after ``cooldown_s`` without; above zero the HPA wants
    ceil(metric / target) for an AverageValue metric, ignores changes within ``tolerance``, and
    scales down only to the highest want of the last ``scale_down_window_s`` (its stabilisation
    window). A calculation, not a measurement."""
    replicas, last_active = 0, -math.inf
    wants: list[tuple[float, int]] = []
    out: list[tuple[float, int]] = []
    for t, metric in demand:
        if metric > activation:
            last_active = t
        if replicas == 0:
            replicas = 1 if metric > activation else 0
        elif t - last_active >= cooldown_s:
            replicas, wants = 0, []
        else:
            want = math.ceil(metric / target) if metric > 0 else 0
            if abs(metric / (target * replicas) - 1) <= tolerance:
                want = replicas
            want = max(1, min(max_replicas, want))
            wants = [(wt, w) for wt, w in wants if t - wt < scale_down_window_s] + [(t, want)]
            replicas = want if want >= replicas else max(w for _, w in wants)
        out.append((t, replicas))
    return out


# --8<-- [end:keda]


def keda_comparison(autoscaled: dict, policy: ScalingPolicy) -> dict:
    queue = autoscaled["timeline"]["queue"]
    demand = [(t, in_flight) for t, _, in_flight in queue]
    end = demand[-1][0] if demand else 0.0
    demand += [(end + s, 0.0) for s in range(1, 361)]  # and the six idle minutes after the trace
    rows = {}
    for label, cooldown, window in (("KEDA defaults (cooldown 300 s, HPA window 300 s)", 300, 300),
                                    ("KEDA as this chart sets it (cooldown 120 s, window 60 s)", 120, 60)):  # fmt: skip
        decided = keda_hpa_replicas(demand, policy.target_ongoing_requests, policy.max_replicas,
                                    cooldown_s=cooldown, scale_down_window_s=window)  # fmt: skip
        seconds = sum(r * (t_next - t) for (t, r), (t_next, _) in itertools.pairwise(decided))
        rows[label] = {"replica_seconds": round(seconds, 1), "peak": max((r for _, r in decided), default=0)}
    return rows


def cold_start(stack: Stack, report: Report) -> dict:
    """From zero: the router's wait for the first byte, split by what the replica reports."""
    report("cold start, taken apart")
    stack.redeploy(LOCAL_POLICY)
    settle(stack, LOCAL_POLICY)
    body = {**QUESTION, "stream": False, "max_tokens": 1}
    cold = httpx.post(f"{stack.url}/v1/chat/completions", json=body, timeout=300)
    waited = float(cold.headers["X-Queue-Wait"])
    startup = httpx.get(f"{stack.ray.serve_url}/startup", timeout=30).json()
    warm = [float(httpx.post(f"{stack.url}/v1/chat/completions", json=body, timeout=300).headers["X-Queue-Wait"])
            for _ in range(5)]  # fmt: skip
    first_token = float(np.median(warm))
    return {
        "total_s": round(waited, 2),
        "model_server_process_s": round(startup["spawn_s"], 3),
        "model_load_s": round(startup["load_s"], 2),
        "first_token_s": round(first_token, 3),
        "ray_decision_and_replica_start_s": round(waited - startup["spawn_s"] - startup["load_s"] - first_token, 2),
    }


def chart(result: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(15, 4.6), gridspec_kw={"width_ratios": [1.6, 1]})
    shown = next(p for p in result["policies"] if p["policy"] == "autoscale 0-2, target 2")
    replicas = shown["timeline"]["replicas"]
    axes[0].step([t for t, _ in replicas], [n for _, n in replicas], where="post", label="replicas", color="tab:blue")
    queue = shown["timeline"]["queue"]
    axes[0].plot([t for t, _, _ in queue], [f for _, _, f in queue], label="requests in flight", color="tab:orange")
    arrivals_per_s = np.bincount(np.array(shown["timeline"]["arrivals"], dtype=int), minlength=1)
    axes[0].bar(range(len(arrivals_per_s)), arrivals_per_s, width=1, alpha=0.3, color="tab:grey", label="arrivals/s")
    axes[0].set_xlabel("seconds")
    axes[0].set_title(f"{shown['policy']}: replicas, work in flight, arrivals")
    axes[0].legend(fontsize=8)
    names = [p["policy"] for p in result["policies"]]
    cost = [p["replica_seconds"] for p in result["policies"]]
    over = [p["over_slo_share"] for p in result["policies"]]
    axes[1].barh(names, cost, color="tab:blue")
    for i, share in enumerate(over):
        axes[1].text(cost[i], i, f"  {share:.0%} over SLO", va="center", fontsize=8)
    axes[1].set_xlabel("replica-seconds for the trace")
    axes[1].invert_yaxis()
    axes[1].set_title(f"cost, and the share of first tokens over {SLO_TTFT_S:.0f} s")
    fig.suptitle(f"{result['machine']['cpu']}, {result['machine']['cores']} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(result: dict, path: Path) -> Path:
    out = ["<!-- --8<-- [start:policies] -->"]
    out += ["| policy | replica-seconds | TTFT p50 s | TTFT p95 s | over SLO | served | refused (429) |",
            "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for p in result["policies"]:
        out.append(
            f"| {p['policy']} | {p['replica_seconds']} | {p['ttft_p50_s']} | {p['ttft_p95_s']} | "
            f"{p['over_slo_share']:.0%} | {p['served']} | {p['refused_429']} |"
        )
    out += ["<!-- --8<-- [end:policies] -->", "", "<!-- --8<-- [start:keda] -->"]
    out += ["| KEDA + HPA, calculated: the same demand, then six idle minutes | replica-seconds | peak replicas |",
            "|---|---:|---:|"]  # fmt: skip
    for label, row in result["keda_calculated"].items():
        out.append(f"| {label} | {row['replica_seconds']} | {row['peak']} |")
    out += ["<!-- --8<-- [end:keda] -->", "", "<!-- --8<-- [start:cold] -->", "| part of a cold start | seconds |",
            "|---|---:|"]  # fmt: skip
    labels = {
        "ray_decision_and_replica_start_s": "Ray: the autoscaler's decision and the replica's actor",
        "model_server_process_s": "the model server's process",
        "model_load_s": "loading the model",
        "first_token_s": "the first token (a warm request's)",
        "total_s": "in all, from the request to its first byte",
    }
    for key, label in labels.items():
        out.append(f"| {label} | {result['cold_start'][key]} |")
    out.append("<!-- --8<-- [end:cold] -->")
    path.write_text("\n".join(out) + "\n")
    return path


def run(
    out: Path | None = None,
    scale: float = 1.0,
    report: Report = print,
    stack: Stack | None = None,
    policies: tuple[str, ...] = tuple(POLICIES),
) -> list[Path]:
    """``policies``: which of POLICIES to measure (the third is the one charted and calculated)."""
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        with tempfile.TemporaryDirectory() as run_dir, running_stack(Path(run_dir), report=report) as started:
            return run(out, scale, report, started, policies)
    schedule = arrivals(scale)
    try:
        measured = [run_policy(stack, name, POLICIES[name], schedule, report) for name in policies]
        autoscaled = next(p for p in measured if p["policy"] == "autoscale 0-2, target 2")
        result = {
            "machine": machine(),
            "slo_ttft_s": SLO_TTFT_S,
            "trace": [{"phase": p, "seconds": s * scale, "rate_per_s": r} for p, s, r in TRACE],
            "policies": measured,
            "keda_calculated": keda_comparison(autoscaled, POLICIES["autoscale 0-2, target 2"]),
            "cold_start": cold_start(stack, report),
        }
    finally:
        stack.redeploy(LOCAL_POLICY)
    (out / "benchmark.json").write_text(json.dumps(result, indent=1))
    return [out / "benchmark.json", chart(result, out / "benchmark.png"), markdown(result, out / "benchmark.md")]
