"""Project 01, part ``servers``: the same model behind four serving stacks (servers.py), one
after another on the same machine, measured the same way: start-up (health ok, first correct
answer), memory of every process of the stack, the configuration lines a reader writes, and a
closed loop at 1, 8 and 32 clients with every photo distinct; then the same fault drills on each
(server_drills.py: bad input, overload, a model that raises, a hung worker, a killed worker, a
graceful stop), each drill that changes the stack on a fresh start of it."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from study.bench.load import closed_loop, machine
from study.processes import descendants, resident_mb

from .server_drills import (
    BATCHING_CLIENTS,
    BLANK_EVERY_S,
    REQUEST_TIMEOUT_S,
    answer_ok,
    bad_input,
    graceful_stop,
    hung_worker,
    killed_worker,
    model_raises,
    overload,
    start_up,
)
from .servers import CONTENDERS, Contender, java_missing, torchserve_environment
from .stack import blank_jpeg, cat_jpeg, chelsea_crops, ensure_model, ensure_model_that_raises

CONCURRENCY = (1, 8, 32)
REQUESTS_PER_WORKER = {1: 100, 8: 30, 32: 10}
OVERLOAD_FACTOR = 1.5
Starter = Callable[[Path, Path, Callable[[str], None]], AbstractContextManager[Contender]]


def config_lines(paths: list[Path]) -> int:
    """Lines that say something: not blank, not a comment."""
    lines = [line.strip() for path in paths for line in path.read_text().splitlines()]
    return sum(1 for line in lines if line and not line.startswith("#"))


async def speed(contender: Contender, images: list[bytes], scale: float) -> list[dict]:
    sent = iter(range(10**9))
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=None)) as client:

        async def send() -> bool:
            return await answer_ok(client, contender, images[next(sent) % len(images)])

        await closed_loop(send, 8, 32)  # warm-up: every worker, every code path
        rows = []
        for c in CONCURRENCY:
            result = await closed_loop(send, c, max(c * 2, int(c * REQUESTS_PER_WORKER[c] * scale)))
            rows.append(result.as_dict())
        return rows


def run_one(
    key: str, start: Starter, model: Path, model_that_raises: Path, scale: float, report: Callable[[str], None]
) -> dict:
    """Measure, then each drill that changes the stack on a fresh start of it, so that no drill
    inherits what the previous one left (a worker that was hung, then killed by its server, say).
    The drill "a model that raises" serves ``model_that_raises``, the others ``model``."""
    image = cat_jpeg()
    images = chelsea_crops(0, 400)  # distinct photos: no cache anywhere can answer a repeat
    seconds = max(3.0, 8 * scale)
    row: dict = {"key": key}
    with tempfile.TemporaryDirectory() as tmp:
        report(f"servers: starting {key}")
        launched = time.perf_counter()
        with start(model, Path(tmp), report) as contender:
            row["name"] = contender.name
            row["start_up"] = asyncio.run(start_up(contender, launched, image))
            row["config_files"] = [path.name for path in contender.config_files]
            row["config_lines"] = config_lines(contender.config_files)
            report(f"servers: {key}, closed loop at {', '.join(map(str, CONCURRENCY))} clients")
            row["speed"] = asyncio.run(speed(contender, images, scale))
            row["memory_mib"] = round(sum(resident_mb(pid) for pid in contender.roots()), 1)
            row["processes"] = sum(1 + len(descendants(pid)) for pid in contender.roots())
            row["bad_input"] = asyncio.run(bad_input(contender, image))
            rate = OVERLOAD_FACTOR * max(r["throughput_rps"] for r in row["speed"])
            report(f"servers: {key}, overload at {rate:.0f}/s")
            row["overload"] = asyncio.run(overload(contender, images, rate, seconds))
    hung_s = max(5.0, 2 * seconds)
    drills = {  # name: (the model the stack serves, the drill)
        "model_raises": (model_that_raises, lambda c: model_raises(c, image, blank_jpeg(), seconds)),
        "hung_worker": (model, lambda c: hung_worker(c, image, hung_s)),
        "killed_worker": (model, lambda c: killed_worker(c, image, hung_s, wait_s=60 if scale >= 0.5 else 10)),
        "graceful_stop": (model, lambda c: graceful_stop(c, image, 5.0)),
    }
    for name, (served, drill) in drills.items():
        with tempfile.TemporaryDirectory() as tmp:
            report(f"servers: {key} afresh, drill {name.replace('_', ' ')}")
            with start(served, Path(tmp), report) as contender:
                asyncio.run(start_up(contender, time.perf_counter(), image))
                row[name] = asyncio.run(drill(contender))
    return row


def run_servers(
    out: Path, scale: float, report: Callable[[str], None], only: tuple[str, ...] | None = None
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    model, model_that_raises = ensure_model(report), ensure_model_that_raises(report)
    keys = [key for key in CONTENDERS if only is None or key in only]
    skipped = {}
    if "torchserve" in keys:
        if why := java_missing():
            skipped["torchserve"] = why
            keys.remove("torchserve")
        else:
            torchserve_environment(report)  # built before the clock starts (once per machine)
    rows = [run_one(key, CONTENDERS[key], model, model_that_raises, scale, report) for key in keys]
    result = {
        "benchmark": "image-classification servers",
        "machine": machine(),
        "model": "EfficientNet-Lite0, the same ONNX file and ONNX Runtime in every stack",
        "concurrency": list(CONCURRENCY),
        "overload_factor": OVERLOAD_FACTOR,
        "request_timeout_s": REQUEST_TIMEOUT_S,
        "skipped": skipped,
        "results": rows,
    }
    (out / "servers.json").write_text(json.dumps(result, indent=2) + "\n")
    return [out / "servers.json", *publish(out)]


def publish(out: Path) -> list[Path]:
    """The tables and the chart again from servers.json (after a change to how they are drawn)."""
    result = json.loads((out / "servers.json").read_text())
    paths = [out / "servers.md", out / "servers-drills.md", out / "servers.png"]
    paths[0].write_text(speed_table(result))
    paths[1].write_text(drills_table(result))
    servers_chart(result, paths[2])
    return paths


def speed_table(result: dict) -> str:
    head = "| stack | health ok / first answer (s) | memory (MiB) | config lines | " + " | ".join(
        f"{c} client{'s' if c > 1 else ''}: img/s, p50 / p99 ms" for c in result["concurrency"]
    )
    lines = [head + " |", "|---|---:|---:|---:|" + "---:|" * len(result["concurrency"])]
    for row in result["results"]:
        cells = [f"{r['throughput_rps']:.1f}, {r['p50_ms']:.1f} / {r['p99_ms']:.1f}" for r in row["speed"]]
        up = row["start_up"]
        healthy = f"{up['healthy_s']:.1f}" if up["healthy_s"] is not None else "never"
        lines.append(
            f"| {row['name']} | {healthy} / {up['first_answer_s']:.1f} | {row['memory_mib']:.0f} | "
            f"{row['config_lines']} | " + " | ".join(cells) + " |"
        )
    host = result["machine"]
    lines += ["", f"{host['cpu']}, {host['cores']} cores, {host['date']}, "
              "`study bench image-classification --only servers`.", ""]  # fmt: skip
    return "\n".join(lines)


def counts(outcomes: dict[str, int]) -> str:
    return ", ".join(f"{n}× {what}" for what, n in sorted(outcomes.items(), key=lambda kv: -kv[1])) or "none"


def overload_cell(row: dict) -> str:
    o = row["overload"]
    capacity = max(r["throughput_rps"] for r in row["speed"])
    return (
        f"{counts(o['outcomes'])}; {o['achieved_rps']:.0f} answers/s (capacity {capacity:.0f}); "
        f"p99 {o['p99_ms'] / 1000:.1f} s"
    )


def raises_cell(row: dict) -> str:
    r = row.get("model_raises")
    if r is None:
        return "not run"
    failed = (
        f"{r['photos_failed']} of {r['photos']} photos failed beside them ({counts(r['photo_failures'])})"
        if r["photos_failed"]
        else f"all {r['photos']} photos answered"
    )
    retried = r.get("service_retries") or {}
    if answered := int(retried.get("answered", 0)):
        failed += f" ({answered} failed with a blank image and were answered when sent again)"
    after = "serving after" if r["serving_after"] else "not serving after"
    restarted = ", workers restarted" if r["workers_replaced"] else ""
    return f"blank images: {counts(r['blank_outcomes'])}; {failed}; {after}{restarted}"


def hung_cell(row: dict) -> str:
    h = row.get("hung_worker")
    if h is None:
        return "not run"
    noticed = "the server killed it" if h["hung_worker_killed_by_server"] else f"not noticed in {h['hung_for_s']:.0f} s"
    noticed += ", started a new one" if h["new_worker"] else ""
    health = f"health ok {h['health_ok_while_hung']} of {h['health_probes_while_hung']}"
    after = "answers after SIGCONT" if h["answering_after"] else "no answers after SIGCONT"
    sent = counts({("answered meanwhile" if what == "ok" else what): n for what, n in h["outcomes"].items()})
    return f"{sent}; {noticed}; {health}; {after}"


def killed_cell(row: dict) -> str:
    k = row["killed_worker"]
    lost = f"{k['failed']} of {k['requests']} lost ({counts(k['failures'])})" if k["failed"] else "none lost"
    if not k["failed"]:
        back = ""
    elif not k["answering_again"]:
        back = ", no answers again"
    else:
        back = f", answers again from {k['answering_again_after_s'] or k['failures_end_s']:.1f} s"
    new = f"new worker at {k['replaced_after_s']:.1f} s" if k["replaced_after_s"] is not None else "no new worker"
    health = (
        f"; health ok {k['health_ok_while_failing']} of {k['health_probes_while_failing']} while failing"
        if k["health_probes_while_failing"]
        else ""
    )
    return f"{lost}{back}; {new}{health}"


def stop_cell(row: dict) -> str:
    g = row["graceful_stop"]
    exit_text = f"exit at {g['exited_after_s']:.1f} s" if g["exited_after_s"] is not None else "still running"
    return (
        f"{g['in_flight_answered']} of {g['in_flight_at_signal']} in flight answered; "
        f"{g['answered_after_signal']} of {g['sent_after_signal']} sent later; {exit_text}"
    )


def drills_table(result: dict) -> str:
    lines = [
        "| stack | not an image | overload | a model that raises | a worker hung | a worker killed | SIGTERM |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["results"]:
        cells = [
            str(row["bad_input"]["status"]),
            overload_cell(row),
            raises_cell(row),
            hung_cell(row),
            killed_cell(row),
            stop_cell(row),
        ]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    hung_for = max((row["hung_worker"]["hung_for_s"] for row in result["results"]), default=0)
    lines += [
        "",
        f"Overload: Poisson arrivals at {result['overload_factor']}× each stack's own best closed-loop rate; "
        f"a request unanswered after {result['request_timeout_s']:.0f} s counts as timed out. A model that "
        f"raises: the model with a bug that fails on a blank image, {BATCHING_CLIENTS} clients sending photos "
        f"and a blank image every {BLANK_EVERY_S:g} s among them. A hung worker: "
        f"SIGSTOP to one model process for {hung_for:.0f} s, then SIGCONT. Times of the killed "
        "worker are seconds after the SIGKILL, of SIGTERM seconds after the signal.",
        "",
    ]
    return "\n".join(lines)


def servers_chart(result: dict, path: Path) -> None:
    rows = result["results"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        x = np.arange(len(result["concurrency"])) + i * width
        left.bar(x, [r["throughput_rps"] for r in row["speed"]], width, label=row["name"])
        right.bar(x, [r["p99_ms"] for r in row["speed"]], width, label=row["name"])
    for axis, title in ((left, "images per second"), (right, "p99 latency (ms)")):
        axis.set_xticks(np.arange(len(result["concurrency"])) + width * (len(rows) - 1) / 2)
        axis.set_xticklabels([f"{c} clients" for c in result["concurrency"]])
        axis.set_title(title)
    left.legend(fontsize=8)
    host = result["machine"]
    fig.suptitle(f"The same model behind four serving stacks ({host['cpu']}, {host['cores']} cores, {host['date']})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
