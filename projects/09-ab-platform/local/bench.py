"""Benchmark of project 09, in one run on one machine so the ratios are fair:

* overhead: the MiniLM sentiment model called on Triton directly, and through the API without an
  experiment, in a 50/50 A/B test, and in shadow (two models per request), at 1, 8 and 32
  concurrent clients: what assignment, logging to PostgreSQL and shadowing cost;
* replays: the held-out tweets as traffic through two experiments (the learned model against the
  lexicon, then a model trained on one topic against the learned one), with the request at which
  each decision was made;
* simulations: the false positive rate of the mSPRT and of a t-test checked at every look, as the
  number of looks grows; the power of each against the size of the improvement.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from pathlib import Path

import httpx
import matplotlib
import numpy as np
import tritonclient.grpc.aio as grpcclient

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.charts import format_concurrency_panels
from study.bench.load import closed_loop, machine
from study.paths import DOCS_DIR
from study.service import Report

from .replay import drive, shuffled
from .simulation import simulate
from .stack import Stack, held_out, running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / "09-ab-platform" / "results"
CONCURRENCY = (1, 8, 32)
REQUESTS = {1: 200, 8: 400, 32: 640}
SETUPS = ("Triton, direct", "API, no experiment", "API, A/B test", "API, shadow")
LOOKS = (1, 2, 5, 10, 20, 50, 100, 200)
EFFECTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08)
OUTCOMES = 4000  # per simulated experiment
BASE_ACCURACY = 0.70
TEST_SETTINGS = {"controller_interval_s": "0"}  # the replays look when they choose


async def direct(triton_url: str, texts: list[str], concurrency: int, requests: int) -> dict:
    client = grpcclient.InferenceServerClient(triton_url)
    sent = 0

    async def send() -> bool:
        nonlocal sent
        sent += 1
        tensor = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[texts[sent % len(texts)].encode()]], dtype=object))
        await client.infer("sentiment_minilm", [tensor])
        return True

    try:
        return (await closed_loop(send, concurrency, requests)).as_dict()
    finally:
        await client.close()


async def through_api(url: str, texts: list[str], experiment: str | None, concurrency: int, requests: int) -> dict:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        sent = 0

        async def send() -> bool:
            nonlocal sent
            sent += 1
            body = {"text": texts[sent % len(texts)], "unit_id": f"load-{sent}", "experiment": experiment}
            return (await client.post("/v1/predict", json=body)).status_code == 200

        return (await closed_loop(send, concurrency, requests)).as_dict()


def run_overhead(stack: Stack, texts: list[str], scale: float, report: Report) -> list[dict]:
    stack.restart_service(default_model="sentiment_minilm")
    experiments: dict[str, str | None] = {"API, no experiment": None}
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        for setup, slug, body in (
            (
                "API, A/B test",
                "ab",
                {"start_stage": "canary", "ramp": [0.5, 1.0], "candidates": ["sentiment_minilm_narrow"]},
            ),
            ("API, shadow", "shadow", {"candidates": ["sentiment_minilm_narrow"]}),
        ):
            name = f"bench-{slug}-{uuid.uuid4().hex[:8]}"
            spec = {"id": name, "control": "sentiment_minilm", "min_step_seconds": 1e9, "reason": "benchmark", **body}
            client.post("/v1/experiments", json=spec, headers={"X-Actor": "bench"}).raise_for_status()
            experiments[setup] = name
    rows = []
    for setup in SETUPS:
        report(f"measuring: {setup}")
        for concurrency in CONCURRENCY:
            requests = max(concurrency * 2, int(REQUESTS[concurrency] * scale))
            if setup == "Triton, direct":
                measured = asyncio.run(direct(stack.triton.grpc_url, texts, concurrency, requests))
            else:
                measured = asyncio.run(through_api(stack.url, texts, experiments[setup], concurrency, requests))
            rows.append({"setup": setup, **measured})
    stack.restart_service()
    return rows


def run_replays(stack: Stack, tweets: list[dict], scale: float, report: Report) -> list[dict]:
    limit = max(1500, int(len(tweets) * scale))
    half = len(tweets) // 2
    plans: list[tuple[dict, list[dict], str]] = [
        (
            {
                "id": f"replay-minilm-{uuid.uuid4().hex[:8]}",
                "control": "sentiment_lexicon",
                "candidates": ["sentiment_minilm"],
                "ramp": [0.1, 0.5, 1.0],
                "min_step_seconds": 0,
                "reason": "replay: the learned model against the lexicon",
            },
            tweets[:half][:limit],
            "a",
        ),
        (
            {
                "id": f"replay-narrow-{uuid.uuid4().hex[:8]}",
                "control": "sentiment_minilm",
                "candidates": ["sentiment_minilm_narrow"],
                "ramp": [0.1, 0.5, 1.0],
                "min_step_seconds": 0,
                "start_stage": "canary",
                "reason": "replay: a model trained on one topic",
            },
            tweets[half:][:limit],
            "b",
        ),
    ]
    runs = []
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        for spec, traffic, prefix in plans:
            report(f"replaying held-out tweets: {spec['control']} vs {spec['candidates'][0]}")
            run = drive(client, spec, traffic, look_every=50, unit_prefix=prefix)
            run["replay_agrees"] = all(
                step["same"] for step in client.get(f"/v1/experiments/{spec['id']}/replay").json()
            )
            runs.append(run)
    return runs


def run_simulations(scale: float, report: Report) -> dict:
    runs = max(200, int(2000 * scale))
    report(f"simulating {runs} experiments per point")
    peeking = []
    for looks in LOOKS:
        rates = simulate(BASE_ACCURACY, BASE_ACCURACY, OUTCOMES, looks, runs, seed=looks)
        peeking.append({"looks": looks, "msprt": rates.msprt, "naive": rates.naive})
    power = []
    for effect in EFFECTS:
        many = simulate(BASE_ACCURACY, BASE_ACCURACY + effect, OUTCOMES, 50, runs, seed=100 + int(effect * 1000))
        once = simulate(BASE_ACCURACY, BASE_ACCURACY + effect, OUTCOMES, 1, runs, seed=200 + int(effect * 1000))
        power.append(
            {
                "effect": effect,
                "msprt_50_looks": many.msprt,
                "msprt_median_outcomes": many.msprt_median_outcomes,
                "naive_50_looks": many.naive,
                "t_test_one_look": once.naive,
            }
        )
    return {
        "runs": runs,
        "outcomes": OUTCOMES,
        "base_accuracy": BASE_ACCURACY,
        "alpha": 0.05,
        "peeking": peeking,
        "power": power,
    }


def ratios(rows: list[dict]) -> dict:
    by = {(r["setup"], r["concurrency"]): r for r in rows}
    out = {}
    for setup in SETUPS[1:]:
        out[setup] = {
            str(c): {
                "p50_ratio_to_direct": round(by[setup, c]["p50_ms"] / by["Triton, direct", c]["p50_ms"], 3),
                "throughput_ratio_to_direct": round(
                    by[setup, c]["throughput_rps"] / by["Triton, direct", c]["throughput_rps"], 3
                ),
            }
            for c in CONCURRENCY
        }
    return out


def chart(result: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    levels = list(CONCURRENCY)
    for setup in SETUPS:
        rows = [r for r in result["overhead"] if r["setup"] == setup]
        axes[0].plot(levels, [r["throughput_rps"] for r in rows], marker="o", label=setup)
        axes[1].plot(levels, [r["p50_ms"] for r in rows], marker="o", label=setup)
    axes[0].set_ylim(bottom=0)
    for run, colour in zip(result["replays"], ("tab:green", "tab:red"), strict=False):
        candidate = run["report"]["arms"]
        name = next(arm for arm, a in candidate.items() if a["role"] == "candidate")
        xs, ys = [0], [run["initial_weights"][name]]
        for decision in run["decisions"]:
            weight = (decision["weights"] or {}).get(name, 0.0)
            xs += [decision["request"], decision["request"]]
            ys += [ys[-1], weight]
        xs.append(run["requests"])
        ys.append(ys[-1])
        axes[2].plot(xs, ys, color=colour, label=f"{name} vs {_control(run)}")
        for decision in run["decisions"]:
            axes[2].annotate(
                decision["stage"] or "rolled back",
                (decision["request"], (decision["weights"] or {}).get(name, 0.0)),
                fontsize=7,
            )
    axes[2].set_title("replayed tweets: candidate's share of units")
    axes[2].set_xlabel("requests")
    axes[2].set_ylim(-0.05, 1.1)
    axes[2].grid(alpha=0.3)
    axes[2].legend(fontsize=7)
    format_concurrency_panels(
        fig,
        [(axes[0], "throughput (requests/s)"), (axes[1], "median latency (ms)")],
        levels,
        "concurrent clients",
        f"Project 09: the cost of experiments, and two experiments replayed ({result['machine']['cpu']})",
        path,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _control(run: dict) -> str:
    return next(arm for arm, a in run["report"]["arms"].items() if a["role"] == "control")


def simulation_chart(result: dict, path: Path) -> Path:
    sims = result["simulations"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    looks = [p["looks"] for p in sims["peeking"]]
    axes[0].plot(
        looks,
        [p["naive"] for p in sims["peeking"]],
        marker="o",
        color="tab:red",
        label="t-test, stop at first p < 0.05",
    )
    axes[0].plot(
        looks, [p["msprt"] for p in sims["peeking"]], marker="o", color="tab:blue", label="mSPRT (this platform)"
    )
    axes[0].axhline(sims["alpha"], color="grey", linestyle="--", label="alpha = 0.05")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("looks during the experiment")
    axes[0].set_ylabel("false positive rate")
    axes[0].set_title(f"no real difference ({sims['base_accuracy']:.0%} vs {sims['base_accuracy']:.0%})")
    effects = [p["effect"] * 100 for p in sims["power"]]
    axes[1].plot(
        effects, [p["msprt_50_looks"] for p in sims["power"]], marker="o", color="tab:blue", label="mSPRT, 50 looks"
    )
    axes[1].plot(
        effects,
        [p["t_test_one_look"] for p in sims["power"]],
        marker="o",
        color="tab:grey",
        label="t-test, one look at the end",
    )
    axes[1].plot(
        effects,
        [p["naive_50_looks"] for p in sims["power"]],
        marker="o",
        color="tab:red",
        linestyle=":",
        label="t-test, 50 looks",
    )
    axes[1].set_xlabel("improvement (accuracy points)")
    axes[1].set_ylabel("share of experiments that declare it")
    axes[1].set_title(f"power within {sims['outcomes']:,} outcomes")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
        axis.set_ylim(0, 1.02)
    fig.suptitle(f"{sims['runs']:,} simulated experiments per point", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


MODEL_NAMES = {
    "vader": "sentiment_lexicon (VADER)",
    "head_broad": "sentiment_minilm (MiniLM + logistic regression, every topic)",
    "head_narrow": "sentiment_minilm_narrow (the same, one topic)",
}


def quality_table(quality: dict) -> list[str]:
    out = [
        "<!-- --8<-- [start:quality] -->",
        "| model | trained on (tweets) | accuracy | macro-F1 |",
        "|---|---:|---:|---:|",
    ]
    for key, name in MODEL_NAMES.items():
        m = quality["models"][key]
        out.append(f"| {name} | {m['trained_on']:,} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} |")
    out.append(f"| always the most common label | 0 | {quality['majority_class_accuracy']:.3f} | |")
    labels = ", ".join(f"{n:,} {label}" for label, n in quality["held_out_labels"].items())
    return [
        *out,
        "",
        f"Held out: {quality['corpus']['held_out']:,} tweets ({labels}).",
        "<!-- --8<-- [end:quality] -->",
        "",
    ]


def markdown(result: dict, path: Path) -> Path:
    out = [
        *quality_table(result["model_quality"]),
        "<!-- --8<-- [start:overhead] -->",
        "| setup | clients | requests/s | p50 ms | p95 ms | p50 / direct | throughput / direct |",
    ]
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for row in result["overhead"]:
        ratio = result["ratios"].get(row["setup"], {}).get(str(row["concurrency"]))
        cells = [f"{row['throughput_rps']:.1f}", f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}"]
        cells += (
            [f"{ratio['p50_ratio_to_direct']:.2f}", f"{ratio['throughput_ratio_to_direct']:.2f}"]
            if ratio
            else ["1", "1"]
        )
        out.append(f"| {row['setup']} | {row['concurrency']} | " + " | ".join(cells) + " |")
    out += ["<!-- --8<-- [end:overhead] -->", "", "<!-- --8<-- [start:replays] -->"]
    out += ["| experiment | request | decision | reason |", "|---|---:|---|---|"]
    for run in result["replays"]:
        label = f"{_control(run)} → {next(a for a, v in run['report']['arms'].items() if v['role'] == 'candidate')}"
        for d in run["decisions"]:
            out.append(f"| {label} | {d['request']} | {d['stage'] or 'rolled back'} | {d['reason']} |")
    out += [
        "",
        "| experiment | arm | units | outcomes | accuracy (95 % interval) | replay agrees |",
        "|---|---|---:|---:|---|---|",
    ]
    for run in result["replays"]:
        for arm, a in run["report"]["arms"].items():
            interval = a["accuracy_interval_95"]
            acc = f"{a['accuracy']:.3f} ({interval[0]:.3f}–{interval[1]:.3f})" if a["accuracy"] is not None else "–"
            cells = [run["experiment"].rsplit("-", 1)[0], arm, a["units"], a["outcomes"], acc, run["replay_agrees"]]
            out.append("| " + " | ".join(map(str, cells)) + " |")
    sims = result["simulations"]
    out += ["<!-- --8<-- [end:replays] -->", "", "<!-- --8<-- [start:peeking] -->"]
    out += ["| looks | mSPRT false positives | t-test false positives |", "|---:|---:|---:|"]
    for p in sims["peeking"]:
        out.append(f"| {p['looks']} | {p['msprt']:.3f} | {p['naive']:.3f} |")
    out += ["<!-- --8<-- [end:peeking] -->", "", "<!-- --8<-- [start:power] -->"]
    out += [
        "| improvement | mSPRT, 50 looks | median outcomes to decide | t-test, one look | t-test, 50 looks |",
        "|---:|---:|---:|---:|---:|",
    ]
    for p in sims["power"]:
        median = "–" if p["msprt_median_outcomes"] is None else f"{p['msprt_median_outcomes']:.0f}"
        cells = [f"{p['effect'] * 100:.0f} points", f"{p['msprt_50_looks']:.3f}", median]
        cells += [f"{p['t_test_one_look']:.3f}", f"{p['naive_50_looks']:.3f}"]
        out.append("| " + " | ".join(cells) + " |")
    out += ["<!-- --8<-- [end:power] -->", ""]
    out.append(
        f"Measured on {result['machine']['cpu']} ({result['machine']['cores']} cores), {result['machine']['date']}."
    )
    path.write_text("\n".join(out) + "\n")
    return path


def run(out: Path | None = None, scale: float = 1.0, report: Report = print, stack: Stack | None = None) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        with (
            tempfile.TemporaryDirectory() as run_dir,
            running_stack(Path(run_dir), report=report, settings=TEST_SETTINGS) as started,
        ):
            return run(out, scale, report, started)
    tweets = shuffled(held_out(stack.models), seed=9)
    overhead = run_overhead(stack, [t["text"] for t in tweets[:500]], scale, report)
    result = {
        "machine": machine(),
        "model_quality": json.loads((stack.models / "metrics.json").read_text()),
        "overhead": overhead,
        "ratios": ratios(overhead),
        "replays": run_replays(stack, tweets, scale, report),
        "simulations": run_simulations(scale, report),
    }
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    return [
        out / "benchmark.json",
        chart(result, out / "benchmark.png"),
        simulation_chart(result, out / "simulation.png"),
        markdown(result, out / "benchmark.md"),
    ]
