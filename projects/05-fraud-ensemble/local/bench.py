"""Benchmark of project 05: latency and throughput of four ways to score a transaction, at
concurrency 1, 8 and 32, in one run against one Triton; and the quality of each model and of the
vote on the held-out period (from the build's metrics.json).

Setups: the best single model (chosen on the validation period) through the same service; Triton's
ensemble (one round trip, the vote inside Triton); the service's fan-out (three concurrent calls);
the fan-out with one voter slowed to 1.5 s (its deadline, 500 ms here, bounds the wait)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.charts import format_concurrency_panels
from study.bench.load import closed_loop, machine
from study.paths import DOCS_DIR

from .stack import VOTERS, running_stack, test_period

DEFAULT_OUT = DOCS_DIR / "projects" / Path(__file__).resolve().parents[1].name / "results"
CONCURRENCY = (1, 8, 32)
REQUESTS = {1: 100, 8: 200, 32: 320}
SETUPS = ("best single model", "Triton ensemble", "fan-out", "fan-out, one voter slow")


def setup_env(setup: str, best: str) -> dict[str, str]:
    if setup == "best single model":
        return {
            "FRAUD_ENSEMBLE_MODE": "fanout",
            "FRAUD_ENSEMBLE_QUORUM": "1",
            "FRAUD_ENSEMBLE_MODELS": json.dumps({best: VOTERS[best]}),
        }
    if setup == "Triton ensemble":
        return {"FRAUD_ENSEMBLE_MODE": "ensemble"}
    models = {**VOTERS, "mlp": "fraud_mlp_slow"} if setup.endswith("slow") else VOTERS
    return {"FRAUD_ENSEMBLE_MODE": "fanout", "FRAUD_ENSEMBLE_QUORUM": "2", "FRAUD_ENSEMBLE_MODELS": json.dumps(models)}


async def measure(url: str, transactions: list[dict], concurrency: int, requests: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        sent = 0

        async def send() -> bool:
            nonlocal sent
            sent += 1
            response = await client.post("/v1/score", json=transactions[sent % len(transactions)])
            return response.status_code == 200

        result = await closed_loop(send, concurrency, requests)
    return result.as_dict()


def run(out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    columns, rows, _ = test_period(report)
    transactions = [dict(zip(columns, map(float, row), strict=True)) for row in rows[:2000]]
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), report=report) as stack:
        build = json.loads((stack.models / "metrics.json").read_text())
        best = max(VOTERS, key=lambda v: build["metrics"]["validation"][v]["pr_auc"])
        for setup in SETUPS:
            report(f"measuring: {setup}")
            stack.restart_service(**setup_env(setup, best))
            asyncio.run(measure(stack.url, transactions, 4, 40))  # warm-up, not recorded
            for concurrency in CONCURRENCY:
                requests = max(concurrency * 2, int(REQUESTS[concurrency] * scale))
                measured = asyncio.run(measure(stack.url, transactions, concurrency, requests))
                rows_out.append(
                    {
                        "setup": setup,
                        "concurrency": concurrency,
                        **measured,
                        "requests_per_s": measured["throughput_rps"],
                    }
                )
    result = {
        "machine": machine(),
        "best_single_model": best,
        "latency": rows_out,
        "quality": build["metrics"]["test"],
        "weights": build["weights"],
        "ratios": ratios(rows_out),
        "test_pr_curves": build["test_pr_curves"],
    }
    json_path = out / "benchmark.json"
    json_path.write_text(json.dumps(result, indent=2))
    latency_png, pr_png, md = out / "latency.png", out / "precision-recall.png", out / "benchmark.md"
    latency_chart(result, latency_png)
    pr_chart(result, pr_png)
    md.write_text(table(result))
    return [json_path, latency_png, pr_png, md]


def _row(rows: list[dict], setup: str, concurrency: int) -> dict:
    return next(r for r in rows if r["setup"] == setup and r["concurrency"] == concurrency)


def ratios(rows: list[dict]) -> dict:
    single = _row(rows, "best single model", 8)["p99_ms"]
    return {
        "ensemble_p99_over_single_at_8": round(_row(rows, "Triton ensemble", 8)["p99_ms"] / single, 2),
        "fanout_p99_over_single_at_8": round(_row(rows, "fan-out", 8)["p99_ms"] / single, 2),
    }


def latency_chart(result: dict, path: Path) -> None:
    fig, (p50, p99, rps) = plt.subplots(1, 3, figsize=(13, 4))
    for setup in SETUPS:
        points = [_row(result["latency"], setup, c) for c in CONCURRENCY]
        for axis, key in ((p50, "p50_ms"), (p99, "p99_ms"), (rps, "requests_per_s")):
            axis.plot(CONCURRENCY, [p[key] for p in points], marker="o", label=setup)
    p50.set_ylabel("ms")
    rps.set_ylabel("requests/s")
    host = result["machine"]
    format_concurrency_panels(
        fig,
        [(p50, "p50 latency"), (p99, "p99 latency"), (rps, "throughput")],
        CONCURRENCY,
        "concurrent clients",
        f"POST /v1/score, Triton on CPU (python backend + ONNX Runtime), {host['cpu']}, {host['cores']} cores",
        path,
    )
    plt.close(fig)


def pr_chart(result: dict, path: Path) -> None:
    fig, axis = plt.subplots(figsize=(6, 4.5))
    for name, curve in result["test_pr_curves"].items():
        auc = result["quality"][name]["pr_auc"]
        axis.plot(
            curve["recall"], curve["precision"], label=f"{name} (PR-AUC {auc})", lw=2 if name == "ensemble" else 1
        )
    axis.set_xlabel("recall (share of frauds caught)")
    axis.set_ylabel("precision (share of alarms that are fraud)")
    axis.set_title("Held-out period (the last 20 % of the time line)", fontsize=10)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(result: dict) -> str:
    host, q = result["machine"], result["quality"]
    lines = [
        "| held-out period | PR-AUC | recall at 0.1 % FPR | expected cost (EUR) | frauds caught | alarms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {m['pr_auc']} | {m['recall_at_0.1pct_fpr']} | {m['expected_cost']:,.0f} | "
            f"{m['frauds_caught']} of {m['frauds']} | {m['flagged']} |"
            for name, m in q.items()
        ),
        "",
        "Weights of the vote (fitted on the validation period): "
        + ", ".join(f"{n} {w}" for n, w in result["weights"].items())
        + ". Expected cost: each missed fraud costs its amount, each alarm a 5 EUR review; every model "
        "uses the threshold that minimised it on the validation period.",
        "",
        "| setup | clients | p50 ms | p95 ms | p99 ms | requests/s | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['setup']} | {r['concurrency']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['requests_per_s']:.0f} | {r['errors']} |"
            for r in result["latency"]
        ),
        "",
        f"Best single model: {result['best_single_model']} (by validation PR-AUC). At 8 clients the Triton "
        f"ensemble's p99 is {result['ratios']['ensemble_p99_over_single_at_8']}× the single model's, the "
        f"fan-out's {result['ratios']['fanout_p99_over_single_at_8']}×. {host['cpu']}, {host['cores']} cores, "
        f"{host['date']}, `study bench fraud-ensemble`.",
        "",
    ]
    return "\n".join(lines)
