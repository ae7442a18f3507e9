"""Benchmark of project 08, in one run on one machine so the ratios are fair:

* load: the page photo at concurrency 1, 8 and 32 -- throughput, latency, time per pipeline stage
  (from the answers' timings) and Triton's queue and compute time per model (from its metrics);
* accuracy: the evaluation set read by the service and by Tesseract -- character error rate, word
  accuracy and seconds per page, overall and per condition (font, size, tilt, blur, noise, JPEG);
* observability's cost: the same load on an API with tracing and request metrics and on one with
  neither, alternated, as a ratio.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ocr.metrics import STAGES
from study.bench.charts import format_concurrency_panels
from study.bench.load import closed_loop, machine
from study.paths import DOCS_DIR
from study.service import Report

from .drill import page_png
from .evaluation import Sample, Score, photo_samples, rendered_samples, tesseract_lines
from .stack import Stack, running_stack, start_service

DEFAULT_OUT = DOCS_DIR / "projects" / "08-ocr" / "results"
CONCURRENCY = (1, 8, 32)
REQUESTS = {1: 20, 8: 48, 32: 64}
TRITON_MODELS = ("text_detection", "text_direction", "text_recognition", "ctc_decode")
SERVICE = "PP-OCR on Triton (this service)"
# The same service set as rapidocr is by default: enlargement before detection not capped, each
# line's direction decided alone.
AS_RAPIDOCR = {"max_upscale": "1000", "page_direction_vote": "false"}


def triton_times(metrics_url: str) -> dict[str, tuple[float, float, float]]:
    """Per model: successful requests, microseconds queued, microseconds computing (counters)."""
    text = httpx.get(metrics_url, timeout=10).text
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for name, index in (
        ("nv_inference_request_success", 0),
        ("nv_inference_queue_duration_us", 1),
        ("nv_inference_compute_infer_duration_us", 2),
    ):
        for model, value in re.findall(rf'^{name}{{model="([^"]+)"[^}}]*}} (\S+)$', text, re.MULTILINE):
            totals[model][index] += float(value)
    return {model: tuple(v) for model, v in totals.items()}  # type: ignore[misc]


async def load(url: str, concurrency: int, requests: int, page: bytes) -> tuple[dict, dict[str, float]]:
    stage_ms: dict[str, list[float]] = defaultdict(list)
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def send() -> bool:
            answer = await client.post("/v1/ocr", files={"file": ("page.png", page, "image/png")})
            if answer.status_code != 200:
                return False
            for stage, ms in answer.json()["timings_ms"].items():
                stage_ms[stage].append(ms)
            return True

        result = await closed_loop(send, concurrency, requests)
    return result.as_dict(), {stage: round(float(np.median(stage_ms[stage])), 1) for stage in STAGES}


def run_load(stack: Stack, scale: float, report: Report) -> list[dict]:
    page, rows = page_png(), []
    asyncio.run(load(stack.url, 2, 4, page))  # warm up
    for concurrency in CONCURRENCY:
        requests = max(concurrency, int(REQUESTS[concurrency] * scale))
        before = triton_times(stack.triton.metrics_url)
        result, stages = asyncio.run(load(stack.url, concurrency, requests, page))
        after = triton_times(stack.triton.metrics_url)
        triton = {}
        for model in TRITON_MODELS:
            n, queue, compute = (
                a - b for a, b in zip(after.get(model, (0, 0, 0)), before.get(model, (0, 0, 0)), strict=True)
            )
            if n:
                triton[model] = {"queue_ms": round(queue / n / 1000, 1), "compute_ms": round(compute / n / 1000, 1)}
        report(f"concurrency {concurrency}: {result['throughput_rps']:.2f} pages/s, p50 {result['p50_ms']:.0f} ms")
        rows.append({**result, "stage_p50_ms": stages, "triton": triton})
    return rows


def read_with_service(client: httpx.Client) -> Callable[[Sample], list[str]]:
    def read(sample: Sample) -> list[str]:
        answer = client.post("/v1/ocr", files={"file": ("page", sample.image, "application/octet-stream")})
        answer.raise_for_status()
        return [line["text"] for line in answer.json()["lines"]]

    return read


def score_engine(
    read: Callable[[Sample], list[str]], samples: list[Sample]
) -> tuple[dict, dict[str, dict[str, Score]]]:
    printed, handwriting, seconds = Score(), Score(), 0.0
    conditions: dict[str, dict[str, Score]] = defaultdict(lambda: defaultdict(Score))
    for sample in samples:
        started = time.perf_counter()
        lines = read(sample)
        seconds += time.perf_counter() - started
        if sample.name == "photo-text":
            handwriting.add(sample.truth, lines)
            continue
        printed.add(sample.truth, lines)
        for key, value in sample.conditions.items():
            conditions[key][str(value)].add(sample.truth, lines)
    summary = {
        "cer": round(printed.cer, 4),
        "word_accuracy": round(printed.word_accuracy, 4),
        "seconds_per_page": round(seconds / len(samples), 3),
        "handwriting_cer": round(handwriting.cer, 4),
    }
    return summary, conditions


def run_accuracy(stack: Stack, scale: float, report: Report) -> dict:
    """The evaluation set read three ways: the service as configured, the same service set as
    rapidocr is by default (AS_RAPIDOCR), and Tesseract."""
    samples = rendered_samples(max(6, int(110 * scale))) + photo_samples()
    engines: dict[str, dict] = {}
    by_condition: dict[str, dict[str, dict[str, Score]]] = {}
    with tempfile.TemporaryDirectory() as run_dir:
        as_rapidocr = start_service(stack.triton, None, Path(run_dir), settings=AS_RAPIDOCR)
        try:
            with (
                httpx.Client(base_url=stack.url, timeout=300) as service,
                httpx.Client(base_url=as_rapidocr.url, timeout=300) as service_as_rapidocr,
            ):
                for engine, read in (
                    (SERVICE, read_with_service(service)),
                    ("the same, set as rapidocr", read_with_service(service_as_rapidocr)),
                    ("Tesseract 5", lambda sample: tesseract_lines(sample.image)),
                ):
                    engines[engine], by_condition[engine] = score_engine(read, samples)
                    scores = engines[engine]
                    report(f"{engine}: CER {scores['cer']:.3f}, word accuracy {scores['word_accuracy']:.3f}")
        finally:
            as_rapidocr.stop()
    breakdown = {
        key: {
            value: {engine: round(by_condition[engine][key][value].cer, 3) for engine in engines}
            for value in by_condition[SERVICE][key]
        }
        for key in ("font", "size", "tilt", "blur", "noise", "jpeg", "photo")
    }
    return {"pages": len(samples), "engines": engines, "cer_by_condition": breakdown}


def run_overhead(stack: Stack, scale: float, report: Report) -> dict:
    """Tracing and request metrics on (the stack's API) and off (a second API on the same Triton),
    alternated twice at concurrency 8; the ratio of their throughputs and median latencies."""
    page, requests = page_png(), max(8, int(32 * scale))
    results: dict[str, list[dict]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as run_dir:
        bare = start_service(stack.triton, None, Path(run_dir), settings={"request_metrics": "false"})
        try:
            for _ in range(2):
                for label, url in (("on", stack.url), ("off", bare.url)):
                    results[label].append(asyncio.run(load(url, 8, requests, page))[0])
        finally:
            bare.stop()
    summary: dict = {
        label: {
            "throughput_rps": round(float(np.mean([r["throughput_rps"] for r in runs])), 3),
            "p50_ms": round(float(np.mean([r["p50_ms"] for r in runs])), 1),
        }
        for label, runs in results.items()
    }
    summary["throughput_ratio_on_vs_off"] = round(summary["on"]["throughput_rps"] / summary["off"]["throughput_rps"], 3)
    summary["p50_ratio_on_vs_off"] = round(summary["on"]["p50_ms"] / summary["off"]["p50_ms"], 3)
    ratios = summary["throughput_ratio_on_vs_off"], summary["p50_ratio_on_vs_off"]
    report(f"observability on/off: throughput x{ratios[0]}, p50 x{ratios[1]}")
    return summary


def chart(result: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    rows = result["load"]
    levels = [row["concurrency"] for row in rows]
    axes[0].plot(levels, [row["throughput_rps"] for row in rows], marker="o", label="pages/s")
    axes[1].plot(levels, [row["p50_ms"] for row in rows], marker="o", label="p50")
    axes[1].plot(levels, [row["p95_ms"] for row in rows], marker="o", label="p95")
    axes[0].set_ylim(bottom=0)  # the cores are the limit: the line is flat, and should look it
    bottom = np.zeros(len(rows))
    for stage in STAGES:
        values = np.array([row["stage_p50_ms"][stage] for row in rows])
        axes[2].bar([str(c) for c in levels], values, bottom=bottom, label=stage)
        bottom += values
    axes[2].set_title("median time per stage (ms)")
    axes[2].set_xlabel("concurrent clients")
    axes[2].legend(fontsize=7)
    format_concurrency_panels(
        fig,
        [(axes[0], "throughput (pages/s)"), (axes[1], "latency (ms)")],
        levels,
        "concurrent clients",
        f"Project 08, the page photo through PP-OCR on Triton ({result['machine']['cpu']})",
        path,
    )
    axes[1].legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _sort_key(value: str) -> tuple[int, float | str]:
    """Numbers in numeric order, then names (and "None", no JPEG) in alphabetical order."""
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def markdown(result: dict, path: Path) -> Path:
    """The tables the docs page includes, one snippet section each (accuracy, conditions, load, cost)."""
    engines = result["accuracy"]["engines"]
    out: list[str] = ["<!-- --8<-- [start:accuracy] -->"]
    out.append("| engine | CER | word accuracy | seconds per page | handwriting CER |")
    out.append("|---|---:|---:|---:|---:|")
    for engine, r in engines.items():
        scores = (r["cer"], r["word_accuracy"], r["seconds_per_page"], r["handwriting_cer"])
        out.append(f"| {engine} | {scores[0]:.3f} | {scores[1]:.3f} | {scores[2]:.2f} | {scores[3]:.2f} |")
    out += ["<!-- --8<-- [end:accuracy] -->", "", "<!-- --8<-- [start:conditions] -->"]
    out += ["| condition | value | " + " | ".join(f"CER, {e}" for e in engines) + " |"]
    out += ["|---|---|" + "---:|" * len(engines)]
    for key, values in result["accuracy"]["cer_by_condition"].items():
        for value, cers in sorted(values.items(), key=lambda item: _sort_key(item[0])):
            out.append(f"| {key} | {value} | " + " | ".join(f"{c:.3f}" for c in cers.values()) + " |")
    out += ["<!-- --8<-- [end:conditions] -->", "", "<!-- --8<-- [start:load] -->"]
    out += ["| concurrent clients | pages/s | p50 ms | p95 ms | " + " | ".join(f"{s} ms" for s in STAGES) + " |"]
    out += ["|---:|---:|---:|---:|" + "---:|" * len(STAGES)]
    for row in result["load"]:
        cells = [f"{row['throughput_rps']:.2f}", f"{row['p50_ms']:.0f}", f"{row['p95_ms']:.0f}"]
        cells += [f"{row['stage_p50_ms'][s]:.0f}" for s in STAGES]
        out.append(f"| {row['concurrency']} | " + " | ".join(cells) + " |")
    out += [
        "",
        "| concurrent clients | Triton model | queue ms per request | compute ms per request |",
        "|---:|---|---:|---:|",
    ]
    for row in result["load"]:
        for model, t in row["triton"].items():
            out.append(f"| {row['concurrency']} | {model} | {t['queue_ms']:.1f} | {t['compute_ms']:.1f} |")
    cost = result["observability_cost"]
    out += ["<!-- --8<-- [end:load] -->", "", "<!-- --8<-- [start:cost] -->"]
    out += ["| tracing and request metrics | pages/s | p50 ms |", "|---|---:|---:|"]
    for label in ("on", "off"):
        out.append(f"| {label} | {cost[label]['throughput_rps']:.3f} | {cost[label]['p50_ms']:.0f} |")
    out.append(
        f"| **on / off** | **{cost['throughput_ratio_on_vs_off']:.3f}** | **{cost['p50_ratio_on_vs_off']:.3f}** |"
    )
    out += ["<!-- --8<-- [end:cost] -->", ""]
    out.append(
        f"Measured on {result['machine']['cpu']} ({result['machine']['cores']} cores), {result['machine']['date']}."
    )
    path.write_text("\n".join(out) + "\n")
    return path


def run(out: Path | None = None, scale: float = 1.0, report: Report = print, stack: Stack | None = None) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        with tempfile.TemporaryDirectory() as run_dir, running_stack(Path(run_dir), report=report) as started:
            return run(out, scale, report, started)
    result = {
        "machine": machine(),
        "load": run_load(stack, scale, report),
        "accuracy": run_accuracy(stack, scale, report),
        "observability_cost": run_overhead(stack, scale, report),
    }
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    return [out / "benchmark.json", chart(result, out / "benchmark.png"), markdown(result, out / "benchmark.md")]
