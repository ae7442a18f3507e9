"""Benchmark of project 11, in one run on one machine so the ratios are fair:

* the cost of security per request: the model called straight on Triton (no token, no policy, no
  limits, no audit) against the same call through the API, and each stage of the API's own
  Server-Timing (token validation, policy, limits in Redis, the model, the prediction with its
  audit record under row-level security) as a share of the model call;
* throughput with every request audited, at 1, 4 and 8 concurrent clients, and a count of the
  audit records written against the answers given (none may be missing);
* the noisy neighbour: a quiet tenant's latency alone and while another tenant floods the API with
  16 concurrent clients (its plan allows 4 inferences at once);
* "not found" for another tenant's model against a model that does not exist: the same time.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import matplotlib
import numpy as np
import psycopg
import tritonclient.grpc.aio as grpcclient

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.load import closed_loop, machine
from study.paths import DOCS_DIR
from study.service import Report

from .stack import Stack, running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / "11-secure-platform" / "results"
STAGES = ("token", "policy", "limits", "model", "store_audit")
BIG_PLAN = {"rate_per_s": 5000, "burst": 5000, "concurrent": 4, "monthly_quota": 10_000_000}
# The benchmark's own stack: plans whose rate never binds, so that throughput measures the service
# and the noisy neighbour is held by its concurrent-inference limit alone.
BENCH_PLANS = {tenant: BIG_PLAN for tenant in ("acme", "globex")}


def _row(stack: Stack) -> list[list[float]]:
    return json.loads((stack.models / "held_out.json").read_text())["digits"]["inputs"][:1]


def _ms(values: list[float]) -> dict:
    array = np.asarray(values)
    return {"p50_ms": round(float(np.percentile(array, 50)), 3), "p95_ms": round(float(np.percentile(array, 95)), 3)}


async def _direct_triton(stack: Stack, rows: list[list[float]], count: int) -> list[float]:
    """The model alone: one gRPC call to Triton per request, as the API makes it."""
    client = grpcclient.InferenceServerClient(url=stack.triton.grpc_url)
    features = np.asarray(rows, dtype=np.float32)
    latencies = []
    try:
        for _ in range(count):
            tensor = grpcclient.InferInput("FEATURES", list(features.shape), "FP32")
            tensor.set_data_from_numpy(features)
            started = time.perf_counter()
            await client.infer("digits", [tensor], outputs=[grpcclient.InferRequestedOutput("PROBABILITIES")])
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await client.close()
    return latencies


async def _through_api(stack: Stack, token: str, rows: list[list[float]], count: int) -> tuple[list[float], dict]:
    latencies: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    async with httpx.AsyncClient(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for _ in range(count):
            started = time.perf_counter()
            answer = await http.post("/v1/models/digits/predict", json={"inputs": rows})
            latencies.append((time.perf_counter() - started) * 1000)
            answer.raise_for_status()
            await asyncio.sleep(max(0.0, 0.025 - (time.perf_counter() - started)))  # under the plan's rate
            for part in answer.headers["Server-Timing"].split(", "):
                name, _, duration = part.partition(";dur=")
                stages[name].append(float(duration))
    return latencies, stages


def security_cost(stack: Stack, count: int, report: Report) -> dict:
    report("cost of security: the model on Triton alone against the same call through the API")
    rows, token = _row(stack), stack.provider.client_token("globex-batch")
    asyncio.run(_direct_triton(stack, rows, 10))  # warm-up of both paths
    asyncio.run(_through_api(stack, token, rows, 10))
    direct = asyncio.run(_direct_triton(stack, rows, count))
    api, stages = asyncio.run(_through_api(stack, token, rows, count))
    model_p50 = float(np.percentile(stages["model"], 50))
    return {
        "requests": count,
        "triton_direct": _ms(direct),
        "through_api": _ms(api),
        "api_over_direct_p50": round(float(np.percentile(api, 50) / np.percentile(direct, 50)), 2),
        "stages": {
            name: {**_ms(values), "share_of_model_p50": round(float(np.percentile(values, 50)) / model_p50, 3)}
            for name, values in stages.items()
        },
    }


def _audit_count(stack: Stack) -> int:
    with psycopg.connect(stack.postgres.url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM audit_log").fetchone() or (0,)
        return int(count)


async def _two_tenants(stack: Stack, tokens: list[str], rows: list, concurrency: int, count: int) -> dict:
    """A closed loop whose requests alternate between two tenants' clients; 200s and 429s counted."""
    counts = {"ok": 0, "limited": 0}
    clients = [
        httpx.AsyncClient(base_url=stack.url, headers={"Authorization": f"Bearer {t}"}, timeout=60) for t in tokens
    ]
    turn = 0

    async def send() -> bool:
        nonlocal turn
        turn += 1
        answer = await clients[turn % 2].post("/v1/models/digits/predict", json={"inputs": rows})
        kind = {200: "ok", 429: "limited"}.get(answer.status_code, "other")
        counts[kind] = counts.get(kind, 0) + 1
        return answer.status_code == 200

    try:
        return {**(await closed_loop(send, concurrency, count)).as_dict(), **counts}
    finally:
        for client in clients:
            await client.aclose()


def throughput(stack: Stack, count: int, report: Report) -> list[dict]:
    rows = _row(stack)
    results = []
    for concurrency in (1, 4, 8):
        report(f"throughput with audit, {concurrency} concurrent clients")
        tokens = [stack.provider.client_token(c) for c in ("acme-batch", "globex-batch")]
        before = _audit_count(stack)
        measured = asyncio.run(_two_tenants(stack, tokens, rows, concurrency, count))
        results.append({**measured, "audit_records_written": _audit_count(stack) - before})
    return results


async def _quiet_tenant(stack: Stack, token: str, rows: list[list[float]], count: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for _ in range(count):
            started = time.perf_counter()
            answer = await http.post("/v1/models/digits/predict", json={"inputs": rows})
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
            await asyncio.sleep(0.02)  # a quiet tenant: about 30 requests a second at most
    return latencies


# The noisy tenant's plans the experiment compares (the quiet tenant keeps one that never binds).
NOISY_PLANS = {
    "no rate limit": BIG_PLAN,
    "50 requests/s": {"rate_per_s": 50, "burst": 100, "concurrent": 4, "monthly_quota": 10_000_000},
}


# --8<-- [start:noisy]
async def _with_noise(
    stack: Stack, quiet: str, noisy: str, rows: list[list[float]], count: int, honours_retry_after: bool
) -> tuple[list, dict]:
    """The quiet tenant's requests while 16 clients of the noisy tenant send as fast as they can;
    after a 429 each waits 10 ms, or as long as Retry-After says (``honours_retry_after``)."""
    outcomes = {"served": 0, "refused_429": 0}
    done = asyncio.Event()

    async def flood(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            answer = await http.post("/v1/models/digits/predict", json={"inputs": rows})
            outcomes["served" if answer.status_code == 200 else "refused_429"] += 1
            if answer.status_code == 429:
                wait = float(answer.headers["Retry-After"]) if honours_retry_after else 0.01
                try:
                    await asyncio.wait_for(done.wait(), timeout=wait)
                except TimeoutError:
                    pass

    async with httpx.AsyncClient(
        base_url=stack.url,
        headers={"Authorization": f"Bearer {noisy}"},
        timeout=60,
        limits=httpx.Limits(max_connections=32),
    ) as http:
        flooders = [asyncio.create_task(flood(http)) for _ in range(16)]
        await asyncio.sleep(0.5)
        started = time.perf_counter()
        latencies = await _quiet_tenant(stack, quiet, rows, count)
        seconds = time.perf_counter() - started
        done.set()
        await asyncio.gather(*flooders)
    return latencies, {**outcomes, "noisy_served_per_s": round(outcomes["served"] / seconds, 1)}


# --8<-- [end:noisy]


def noisy_neighbour(stack: Stack, count: int, report: Report) -> dict:
    """The quiet tenant (globex) alone, then beside acme's flood under each of acme's plans, with
    clients that ignore Retry-After and with clients that honour it."""
    rows = _row(stack)
    quiet, noisy = stack.provider.client_token("globex-batch"), stack.provider.client_token("acme-batch")
    report("noisy neighbour: the quiet tenant alone")
    asyncio.run(_quiet_tenant(stack, quiet, rows, 5))
    alone = asyncio.run(_quiet_tenant(stack, quiet, rows, count))
    floods = []
    try:
        for plan_name, plan in NOISY_PLANS.items():
            stack.restart_service(limits=json.dumps({"acme": plan, "globex": BIG_PLAN}))
            for honours in (False, True):
                report(f"noisy neighbour: beside a flood, acme's plan {plan_name}, Retry-After honoured: {honours}")
                beside, outcomes = asyncio.run(_with_noise(stack, quiet, noisy, rows, count, honours))
                floods.append(
                    {
                        "noisy_plan": plan_name,
                        "noisy_honours_retry_after": honours,
                        "quiet": _ms(beside),
                        "quiet_p95_over_alone": round(float(np.percentile(beside, 95) / np.percentile(alone, 95)), 2),
                        "noisy": outcomes,
                    }
                )
    finally:
        stack.restart_service()  # the stack's own settings again
    return {"requests": count, "quiet_alone": _ms(alone), "floods": floods}


def not_found_timing(stack: Stack, count: int, report: Report) -> dict:
    report("timing of 'not found': another tenant's model against no model at all")
    token = stack.provider.client_token("acme-batch")
    times: dict[str, list[float]] = {"another tenant's model": [], "no such model": []}
    with httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for i in range(count * 2):
            name, path = (
                ("another tenant's model", "/v1/models/tumour-screen/predict")
                if i % 2
                else ("no such model", "/v1/models/no-such-model/predict")
            )
            started = time.perf_counter()
            answer = http.post(path, json={"inputs": [[0.0] * 30]})
            times[name].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 404
    return {name: _ms(values) for name, values in times.items()}


def chart(result: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6), gridspec_kw={"width_ratios": [1, 1, 1.6]})
    cost = result["security_cost"]
    stages = cost["stages"]
    axes[0].barh(list(stages), [stages[s]["p50_ms"] for s in stages], color="tab:blue")
    axes[0].axvline(cost["triton_direct"]["p50_ms"], color="tab:grey", linestyle="--", label="Triton alone")
    axes[0].set_title("one request, median ms per stage")
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8)
    load = result["throughput"]
    axes[1].plot([r["concurrency"] for r in load], [r["throughput_rps"] for r in load], marker="o")
    axes[1].set_xticks([r["concurrency"] for r in load])
    axes[1].set_xlabel("concurrent clients")
    axes[1].set_title("answers/s, every one audited")
    axes[1].set_ylim(bottom=0)
    noisy = result["noisy_neighbour"]
    labels = ["alone"] + [
        f"{f['noisy_plan']},\n{'waits' if f['noisy_honours_retry_after'] else 'retries at once'}"
        for f in noisy["floods"]
    ]
    conditions = [noisy["quiet_alone"]] + [f["quiet"] for f in noisy["floods"]]
    for key, offset, colour in (("p50_ms", -0.2, "tab:blue"), ("p95_ms", 0.2, "tab:orange")):
        axes[2].bar(
            np.arange(len(conditions)) + offset,
            [c[key] for c in conditions],
            width=0.4,
            label=key.removesuffix("_ms"),
            color=colour,
        )
    axes[2].set_xticks(range(len(conditions)), labels, fontsize=7)
    axes[2].set_title("the quiet tenant beside a flood of 16 (4 at once), ms")
    axes[2].legend(fontsize=8)
    fig.suptitle(f"{result['machine']['cpu']}, {result['machine']['cores']} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(result: dict, path: Path) -> Path:
    cost = result["security_cost"]
    out = [
        "<!-- --8<-- [start:cost] -->",
        "| step | p50 ms | p95 ms | share of the model call (p50) |",
        "|---|---:|---:|---:|",
    ]
    out.append(
        f"| Triton alone (the baseline) | {cost['triton_direct']['p50_ms']} | {cost['triton_direct']['p95_ms']} | |"
    )
    for name, stage in cost["stages"].items():
        out.append(f"| {name} | {stage['p50_ms']} | {stage['p95_ms']} | {stage['share_of_model_p50']} |")
    out.append(f"| whole request, client side | {cost['through_api']['p50_ms']} | {cost['through_api']['p95_ms']} | |")
    out += ["<!-- --8<-- [end:cost] -->", "", "<!-- --8<-- [start:throughput] -->"]
    out += [
        "| clients | answers/s | p50 ms | p95 ms | 429 | audit records written / requests |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["throughput"]:
        out.append(
            f"| {r['concurrency']} | {r['throughput_rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['limited']} | {r['audit_records_written']} / {r['requests']} |"
        )
    noisy = result["noisy_neighbour"]
    out += ["<!-- --8<-- [end:throughput] -->", "", "<!-- --8<-- [start:noisy] -->"]
    out += [
        "| the quiet tenant | acme's plan (4 at once) | acme's clients after a 429 | quiet p50 ms | quiet p95 ms "
        "| p95 / alone | acme served/s | acme refused |",
        "|---|---|---|---:|---:|---:|---:|---:|",
        f"| alone | | | {noisy['quiet_alone']['p50_ms']} | {noisy['quiet_alone']['p95_ms']} | 1 | | |",
    ]
    for f in noisy["floods"]:
        after = "wait Retry-After" if f["noisy_honours_retry_after"] else "retry after 10 ms"
        out.append(
            f"| beside acme's flood | {f['noisy_plan']} | {after} | {f['quiet']['p50_ms']} | {f['quiet']['p95_ms']} | "
            f"{f['quiet_p95_over_alone']} | {f['noisy']['noisy_served_per_s']} | {f['noisy']['refused_429']} |"
        )
    out += ["<!-- --8<-- [end:noisy] -->", "", "<!-- --8<-- [start:not-found] -->"]
    out += ["| 404 for | p50 ms | p95 ms |", "|---|---:|---:|"]
    for name, timing in result["not_found"].items():
        out.append(f"| {name} | {timing['p50_ms']} | {timing['p95_ms']} |")
    out.append("<!-- --8<-- [end:not-found] -->")
    path.write_text("\n".join(out) + "\n")
    return path


def run(out: Path | None = None, scale: float = 1.0, report: Report = print, stack: Stack | None = None) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        settings = {"limits": json.dumps(BENCH_PLANS)}
        with (
            tempfile.TemporaryDirectory() as run_dir,
            running_stack(Path(run_dir), report=report, settings=settings, credentials=None) as started,
        ):
            return run(out, scale, report, started)
    result = {
        "machine": machine(),
        "security_cost": security_cost(stack, max(20, int(400 * scale)), report),
        "throughput": throughput(stack, max(24, int(600 * scale)), report),
        "noisy_neighbour": noisy_neighbour(stack, max(20, int(300 * scale)), report),
        "not_found": not_found_timing(stack, max(10, int(200 * scale)), report),
    }
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    return [out / "benchmark.json", chart(result, out / "benchmark.png"), markdown(result, out / "benchmark.md")]
