"""Benchmark of project 07. Quality on the held-out segments (evaluation/heldout.yaml), which no
choice was tuned on; speed and memory on this machine; money from costs.yaml.

- engines and precisions: chrF (sacrebleu) per kind of text, ms per segment, the server's
  resident memory, for Apertium and for Gemma 3 270M at f32 (dequantized from the shipped Q4_K_M),
  q8_0 and q4_0 (both quantized from that f32) and q4_k_m (as shipped); the quality gate: the
  INT8 build serves only within 1 chrF point of f32;
- routing policies: chrF and $ per million characters of each over the same segments;
- batching: Apertium's segments per second by batch size (a batch is one pipeline run);
- the service: p50/p95 of a short request with the memory cold and warm; a document translated,
  edited (one sentence in ten changed) and translated again: the memory's hit ratio and the
  engine work it saved; a worker's cold start (scale from zero);
- cost: $ per million characters per engine, precision and hit ratio, on-demand and spot.
Timings are this machine's (shared, noisy): compare ratios within one run."""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import yaml

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import redis
import sacrebleu

from study.bench.load import machine
from study.llm_local import LocalLlamaCpp
from study.paths import DOCS_DIR
from study.processes import resident_mb
from translation.engines import Apertium, NeuralLLM
from translation.jobs import ENGINE_SEGMENTS
from translation.placeholders import PlaceholderLost, protect, restore
from translation.routing import Policy, route

from .models import PRECISIONS, gguf, model_version
from .stack import PRECISION, running_stack

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUT = DOCS_DIR / "projects" / PROJECT_DIR.name / "results"
PRICES = yaml.safe_load((PROJECT_DIR / "costs.yaml").read_text())
GATE_POINTS = 1.0  # the INT8 build serves only if its chrF is within this of f32's
PAIR = "en-es"


def load(name: str) -> list[dict[str, str]]:
    rows = yaml.safe_load((PROJECT_DIR / "evaluation" / name).read_text())
    return [{"kind": kind, "en": en, "es": es} for kind, en, es in rows]


def chrf(hypotheses: list[str], references: list[str]) -> float:
    return round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2)


def by_kind(items: list[dict], hypotheses: list[str]) -> dict[str, float]:
    kinds = sorted({i["kind"] for i in items})
    return {
        kind: chrf(
            [h for i, h in zip(items, hypotheses, strict=True) if i["kind"] == kind],
            [i["es"] for i in items if i["kind"] == kind],
        )
        for kind in kinds
    }


# --8<-- [start:engine-run]
async def engine_run(engine: Any, items: list[dict], one_at_a_time: bool) -> dict[str, Any]:
    """Translate every item's English (placeholders protected, as the service does); per-segment
    times, chrF overall and by kind, and how many segments lost a placeholder."""
    masked = [protect(i["en"]) for i in items]
    hypotheses: list[str] = []
    seconds: list[float] = []
    lost = 0
    if one_at_a_time:
        raw = []
        for m in masked:
            started = time.perf_counter()
            raw += await engine.translate([m.text], PAIR)
            seconds.append(time.perf_counter() - started)
    else:  # one batch: the time is shared equally
        started = time.perf_counter()
        raw = await engine.translate([m.text for m in masked], PAIR)
        seconds = [(time.perf_counter() - started) / len(masked)] * len(masked)
    for text, m, item in zip(raw, masked, items, strict=True):
        try:
            hypotheses.append(restore(text, m))
        except PlaceholderLost:
            lost += 1
            hypotheses.append(item["en"])  # what the service would do without its fallback
    references = [i["es"] for i in items]
    return {
        "chrf": chrf(hypotheses, references),
        "chrf_by_kind": by_kind(items, hypotheses),
        "ms_per_segment": round(1000 * statistics.mean(seconds), 2),
        "segments_per_s": round(len(items) / sum(seconds), 2),
        "chars_per_s": round(sum(len(i["en"]) for i in items) / sum(seconds), 1),
        "ms_per_char": 1000 * sum(seconds) / sum(len(i["en"]) for i in items),
        "placeholders_lost": lost,
        "hypotheses": hypotheses,
        "seconds": seconds,
    }


# --8<-- [end:engine-run]


def neural_precisions(stack: Any, items: list[dict], precisions: list[str], report: Callable[[str], None]) -> dict:
    results = {}
    for precision in precisions:
        model = gguf(precision, report)
        if precision == PRECISION:
            server = stack.llm
            own = None
        else:
            own = server = LocalLlamaCpp(stack.run_dir / "logs" / f"bench-{precision}.log", model=model)
            report(f"llama.cpp with Gemma 3 270M at {precision}")
            server.start(report)
        try:
            engine = NeuralLLM(server.base_url, "local", model_version(precision, model))
            measured = asyncio.run(engine_run(engine, items, one_at_a_time=True))
            measured["resident_mb"] = round(resident_mb(server.process.proc.pid), 1)
            measured["file_mb"] = round(model.stat().st_size / 2**20, 1)
            results[precision] = measured
        finally:
            if own is not None:
                own.stop()
    return results


def apertium_batching(items: list[dict], sizes: tuple[int, ...]) -> dict[str, float]:
    engine = Apertium()
    texts = [protect(i["en"]).text for i in items]
    rates = {}
    for size in sizes:
        started = time.perf_counter()
        for start in range(0, len(texts), size):
            asyncio.run(engine.translate(texts[start : start + size], PAIR))
        rates[str(size)] = round(len(texts) / (time.perf_counter() - started), 1)
    return rates


def policies(items: list[dict], engines: dict[str, dict], threshold: int, price_per_hour: float) -> dict:
    """Each policy's chrF and $ per million characters over the same segments, from the per-segment
    translations and times measured above."""
    results = {}
    policy: Policy
    for policy in ("cheapest", "neural", "by_length"):
        chosen = [route(i["en"], policy, threshold) for i in items]
        hypotheses = [engines[c]["hypotheses"][n] for n, c in enumerate(chosen)]
        seconds = sum(engines[c]["seconds"][n] for n, c in enumerate(chosen))
        characters = sum(len(i["en"]) for i in items)
        results[policy] = {
            "chrf": chrf(hypotheses, [i["es"] for i in items]),
            "neural_share": round(chosen.count("neural") / len(chosen), 3),
            "dollars_per_million_chars": round(seconds / characters * 1e6 * price_per_hour / 3600, 4),
        }
    return results


def short_requests(url: str, items: list[dict]) -> dict[str, Any]:
    """The same short UI strings twice through the API: the first pass fills the memory (cold), the
    second is answered from it (warm)."""
    strings = [i["en"] for i in items if i["kind"] == "ui"]
    passes: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=120) as client:
        for name in ("cold", "warm"):
            times = []
            for text in strings:
                started = time.perf_counter()
                answer = client.post("/v1/translate", json={"segments": [text]})
                answer.raise_for_status()
                times.append(1000 * (time.perf_counter() - started))
            passes[name] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 95), 2)}
    passes["requests"] = len(strings)
    return passes


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def document(items: list[dict], edited: bool) -> str:
    """A Markdown guide from the tuning sentences, paragraphs of five; ``edited``: every tenth
    sentence reworded, as a writer's next revision would."""
    sentences = [i["en"] for i in items if i["kind"] in ("email", "technical")]
    if edited:
        sentences = [s.replace(".", ", as before.", 1) if n % 10 == 3 else s for n, s in enumerate(sentences)]
    paragraphs = [" ".join(sentences[n : n + 5]) for n in range(0, len(sentences), 5)]
    return "# Guide\n\n" + "\n\n".join(paragraphs) + "\n"


def run_job(client: httpx.Client, text: str, name: str, redis_url: str) -> dict[str, Any]:
    started = time.perf_counter()
    job = client.post("/v1/documents", params={"filename": name}, content=text.encode()).raise_for_status().json()
    while job["status"] not in ("done", "failed"):
        time.sleep(0.2)
        job = client.get(f"/v1/jobs/{job['id']}").raise_for_status().json()
    engine_segments = int(redis.Redis.from_url(redis_url).get(ENGINE_SEGMENTS + job["id"]) or 0)
    return {
        "status": job["status"],
        "segments": job["segments_total"],
        "engine_segments": engine_segments,
        "hit_ratio": round(1 - engine_segments / job["segments_total"], 3),
        "seconds": round(time.perf_counter() - started, 2),
    }


def repeated_workload(stack: Any, items: list[dict]) -> dict[str, Any]:
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        first = run_job(client, document(items, edited=False), "guide.md", stack.redis.url)
        again = run_job(client, document(items, edited=True), "guide-v2.md", stack.redis.url)
    return {"first": first, "edited_again": again}


def cold_start(stack: Any) -> dict[str, float]:
    """Scale from zero: the same small job with a worker waiting (warm) and with none, the scaler
    starting one when the job is queued (cold). The difference is what scale-to-zero costs a job."""
    sentences = "Open the file. Save the changes. Close the window."
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        warm = run_job(client, sentences.replace("file", "first file"), "warm.txt", stack.redis.url)["seconds"]
        for worker in stack.workers:
            worker.stop()
        stack.workers.clear()
        scaler = stack.start_scaler(TRANSLATION_IDLE_EXIT_S="2")
        try:
            cold = run_job(client, sentences.replace("file", "second file"), "cold.txt", stack.redis.url)["seconds"]
        finally:
            scaler.stop()
            stack.scalers.remove(scaler)
            stack.start_worker()
    return {"job_with_a_worker_waiting_s": warm, "job_scaled_from_zero_s": cold, "cold_start_s": round(cold - warm, 2)}


def dollars_per_million(ms_per_char: float, per_hour: float, hit_ratio: float = 0.0) -> float:
    return round(ms_per_char / 1000 * 1e6 * per_hour / 3600 * (1 - hit_ratio), 4)


def cost_table(engines: dict[str, dict], hit_ratio: float) -> list[dict[str, Any]]:
    cpu = next(i for i in PRICES["instances"] if i["kind"] == "cpu")
    rows = []
    for name, measured in engines.items():
        for price in ("on_demand_per_hour", "spot_per_hour"):
            rows.append(
                {
                    "engine": name,
                    "instance": f"{cpu['name']} {price.split('_per')[0].replace('_', '-')}",
                    "no_memory": dollars_per_million(measured["ms_per_char"], cpu[price]),
                    "with_memory": dollars_per_million(measured["ms_per_char"], cpu[price], hit_ratio),
                }
            )
    return rows


def run(
    out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print, stack: Any = None
) -> list[Path]:
    """``stack``: a running local stack to measure (the tests pass theirs); by default one is started."""
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), report=report) as own:
            result = measure(own, scale, report)
    else:
        result = measure(stack, scale, report)
    paths = [out / "benchmark.json", out / "trade.png", out / "cost.png", out / "benchmark.md"]
    paths[0].write_text(json.dumps(result, indent=2))
    trade_chart(result, paths[1])
    cost_chart(result, paths[2])
    paths[3].write_text(tables(result))
    return paths


def measure(stack: Any, scale: float, report: Callable[[str], None]) -> dict[str, Any]:
    held_out, tuning = load("heldout.yaml"), load("tuning.yaml")
    if scale < 1:
        held_out = held_out[:: max(1, round(1 / scale))]
    precisions = list(PRECISIONS) if scale >= 1 else [PRECISION]
    report(f"Apertium on {len(held_out)} held-out segments, one batch")
    apertium = asyncio.run(engine_run(Apertium(), held_out, one_at_a_time=False))
    report(f"Gemma 3 270M at {', '.join(precisions)}, one segment at a time")
    neural = neural_precisions(stack, held_out, precisions, report)
    gate = None
    if "f32" in neural and "q8_0" in neural:
        gate = {"f32": neural["f32"]["chrf"], "q8_0": neural["q8_0"]["chrf"]}
        gate["passes"] = gate["q8_0"] >= gate["f32"] - GATE_POINTS
    threshold = int(stack.env.get("TRANSLATION_SHORT_SEGMENT_WORDS", 4))
    price = float(stack.env.get("TRANSLATION_PRICE_PER_HOUR", 0.0446))
    serving = {"apertium": apertium, "neural": neural[PRECISION]}
    report("routing policies, Apertium's batching, the API's short requests")
    routed = policies(held_out, serving, threshold, price)
    batching = apertium_batching(tuning, (1, 8, 32, 150) if scale >= 1 else (1, 32))
    short = short_requests(stack.url, held_out)
    report("a document, edited, translated again; a worker's cold start")
    workload = repeated_workload(stack, tuning if scale >= 1 else tuning[:: max(1, round(1 / scale))])
    started = cold_start(stack)
    engines = {"apertium": apertium} | {f"gemma {p}": m for p, m in neural.items()}
    return {
        "machine": machine(),
        "segments": len(held_out),
        "serving_precision": PRECISION,
        "engines": {
            name: {k: v for k, v in m.items() if k not in ("hypotheses", "seconds")} for name, m in engines.items()
        },
        "quality_gate": gate,
        "examples": examples(held_out, apertium, neural[PRECISION]),
        "policies": routed,
        "short_segment_words": threshold,
        "apertium_segments_per_s_by_batch": batching,
        "short_requests": short,
        "repeated_workload": workload,
        "cold_start": started,
        "prices": PRICES,
        "cost": cost_table(engines, workload["edited_again"]["hit_ratio"]),
    }


def examples(items: list[dict], apertium: dict, gemma: dict, count: int = 8) -> list[dict[str, str]]:
    """A few held-out segments, every kind, with both engines' translations: what chrF summarises."""
    step = max(1, len(items) // count)
    return [
        {"en": i["en"], "reference": i["es"], "apertium": apertium["hypotheses"][n], "gemma": gemma["hypotheses"][n]}
        for n, i in list(enumerate(items))[::step][:count]
    ]


def trade_chart(result: dict, path: Path) -> None:
    fig, axis = plt.subplots(figsize=(7.5, 4.2))
    for name, m in result["engines"].items():
        axis.scatter(m["ms_per_segment"], m["chrf"], s=60)
        axis.annotate(name, (m["ms_per_segment"], m["chrf"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    axis.set_xscale("log")
    axis.set_xlabel("ms per segment (log scale; Apertium: one batch of all segments)")
    axis.set_ylabel("chrF on the held-out segments")
    host = result["machine"]
    axis.set_title(f"Quality against time, {result['segments']} held-out segments; {host['cpu']}", fontsize=9)
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cost_chart(result: dict, path: Path) -> None:
    rows = [r for r in result["cost"] if "spot" in r["instance"]]
    fig, axis = plt.subplots(figsize=(7.5, 3.6))
    names = [r["engine"] for r in rows]
    y = range(len(rows))
    axis.barh([i + 0.2 for i in y], [r["no_memory"] for r in rows], height=0.4, label="no memory", color="#c84")
    axis.barh([i - 0.2 for i in y], [r["with_memory"] for r in rows], height=0.4, label="with the memory", color="#3a7")
    axis.set_yticks(list(y), names)
    axis.set_xscale("log")
    axis.set_xlabel("$ per million source characters (spot CPU instance, log scale)")
    hit = result["repeated_workload"]["edited_again"]["hit_ratio"]
    axis.set_title(f"Where the money goes; memory hit ratio {hit:.0%} on an edited document", fontsize=9)
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tables(result: dict) -> str:
    lines = [
        "<!-- --8<-- [start:engines] -->",
        "| Engine | chrF | chrF UI / email / technical | ms per segment | segments/s | chars/s | Placeholders lost "
        "| Server memory | File |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in result["engines"].items():
        kinds = " / ".join(
            f"{m['chrf_by_kind'][k]:.1f}" for k in ("ui", "email", "technical") if k in m["chrf_by_kind"]
        )
        memory = f"{m['resident_mb']:.0f} MiB" if "resident_mb" in m else "(a process per batch)"
        size = f"{m['file_mb']:.0f} MiB" if "file_mb" in m else "-"
        lines.append(
            f"| {name} | {m['chrf']:.1f} | {kinds} | {m['ms_per_segment']:.1f} | {m['segments_per_s']:.1f} "
            f"| {m['chars_per_s']:.0f} | {m['placeholders_lost']} "
            f"| {memory} | {size} |"
        )
    lines += ["<!-- --8<-- [end:engines] -->", "", "<!-- --8<-- [start:policies] -->"]
    lines += [
        "| Routing policy | chrF | Share sent to Gemma | $ per million characters (spot CPU) |",
        "|---|---|---|---|",
    ]
    for name, p in result["policies"].items():
        lines.append(f"| {name} | {p['chrf']:.1f} | {p['neural_share']:.0%} | {p['dollars_per_million_chars']:.4f} |")
    lines += ["<!-- --8<-- [end:policies] -->", "", "<!-- --8<-- [start:cost] -->"]
    lines += ["| Engine | Instance | $ / M chars, no memory | $ / M chars, with the memory |", "|---|---|---|---|"]
    for row in result["cost"]:
        lines.append(f"| {row['engine']} | {row['instance']} | {row['no_memory']:.4f} | {row['with_memory']:.4f} |")
    lines += ["<!-- --8<-- [end:cost] -->", "", "<!-- --8<-- [start:service] -->"]
    short, work, cold = result["short_requests"], result["repeated_workload"], result["cold_start"]
    lines += [
        "| The service | |",
        "|---|---|",
        f"| short request, memory cold: p50 / p95 | {short['cold']['p50_ms']:.1f} / {short['cold']['p95_ms']:.1f} ms |",
        f"| short request, memory warm: p50 / p95 | {short['warm']['p50_ms']:.1f} / {short['warm']['p95_ms']:.1f} ms |",
        f"| document, first time: segments, sent to an engine, seconds | {work['first']['segments']}, "
        f"{work['first']['engine_segments']}, {work['first']['seconds']:.1f} s |",
        f"| the same, edited, again: segments, sent to an engine, seconds | {work['edited_again']['segments']}, "
        f"{work['edited_again']['engine_segments']}, {work['edited_again']['seconds']:.1f} s |",
        f"| memory hit ratio on the edited document | {work['edited_again']['hit_ratio']:.0%} |",
        "| Apertium segments/s by batch size | "
        + ", ".join(f"{k}: {v}" for k, v in result["apertium_segments_per_s_by_batch"].items())
        + " |",
        f"| a 3-sentence job, a worker waiting / scaled from zero | {cold['job_with_a_worker_waiting_s']:.1f}"
        f" / {cold['job_scaled_from_zero_s']:.1f} s |",
    ]
    gate = result["quality_gate"]
    if gate:
        verdict = "passes: q8_0 serves" if gate["passes"] else "fails: q8_0 must not serve"
        lines.append(
            f"| INT8 gate (q8_0 within {GATE_POINTS:.0f} chrF of f32) "
            f"| {gate['q8_0']:.1f} vs {gate['f32']:.1f}: {verdict} |"
        )
    lines += ["<!-- --8<-- [end:service] -->", "", "<!-- --8<-- [start:examples] -->"]
    lines += ["| English | Reference | Apertium | Gemma 3 270M |", "|---|---|---|---|"]
    for e in result["examples"]:
        cells = [e[k].replace("|", "\\|") for k in ("en", "reference", "apertium", "gemma")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("<!-- --8<-- [end:examples] -->")
    return "\n".join(lines) + "\n"
