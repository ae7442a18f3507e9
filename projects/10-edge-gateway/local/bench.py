"""Benchmark of project 10, in one run on one machine so the ratios are fair:

* the model: float32 against int8 in the gateway's settings (one thread, no arena): images/s,
  p50/p95, file size, and how often int8 picks float32's class;
* the gateway over HTTP at 1 and 4 concurrent devices, on two cores and pinned to one (taskset),
  as a Raspberry-Pi-class box would run it;
* the answer cache on a camera's workload (the same frame sent again while nothing moves) and on
  frames with sensor noise (no two alike), cache on and off;
* memory: what each part costs (Python, ONNX Runtime, the model, SQLite), and the gateway's peak
  under load; start-up to the first answer; disk per million results;
* sync: how fast the outbox drains when the cloud returns after a long offline period.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.load import closed_loop, machine
from study.paths import DOCS_DIR
from study.service import Report

from .stack import Stack, device_client, running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / "10-edge-gateway" / "results"


def _frames(count: int, scenes: int, noise: bool, seed: int = 0) -> list[bytes]:
    """A camera's frames: ``scenes`` distinct views, each sent count/scenes times in a row; with
    ``noise``, every frame gets its own sensor noise (the bytes never repeat). Each seed gives
    other views (other crops of the photo), so one measurement never finds another's frames cached."""
    import io

    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(seed)
    photo = skimage.data.chelsea()
    out = []
    for i in range(count):
        scene = i * scenes // count
        top, left = divmod((seed * 997 + scene * 7) % 1600, 40)
        view = photo[top : top + 260, left : left + 400].astype(np.int16)
        if noise:
            view = np.clip(view + rng.normal(0, 3, view.shape), 0, 255)
        buffer = io.BytesIO()
        Image.fromarray(view.astype(np.uint8)).save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


async def _load(stack: Stack, frames: list[bytes], concurrency: int, device: str = "camera-entrance") -> dict:
    client_module = device_client()
    key = stack.device_keys[device]
    sent = 0
    hits = 0
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:

        async def send() -> bool:
            nonlocal sent, hits
            image = frames[sent % len(frames)]
            sent += 1
            response = await client.post(
                "/v1/classify", files={"image": ("f.jpg", image)}, headers=client_module.signed(device, key, image)
            )
            if response.status_code == 200 and response.json()["cached"]:
                hits += 1
            return response.status_code == 200

        result = (await closed_loop(send, concurrency, len(frames))).as_dict()
    return {**result, "cache_hit_rate": round(hits / max(1, len(frames)), 3)}


def rss_of(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory in MiB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


SESSION = "import onnxruntime as o; s = o.InferenceSession({}, providers=['CPUExecutionProvider'])"
# Each step adds to the one before; the float32 line replaces the int8 model, for comparison.
PARTS = {
    "Python": "pass",
    "+ ONNX Runtime": "import onnxruntime",
    "+ the int8 model": SESSION.format("M8"),
    "+ SQLite (WAL)": SESSION.format("M8")
    + "; import sqlite3; d = sqlite3.connect(DB); d.execute('PRAGMA journal_mode=WAL')",
    "float32 model instead": SESSION.format("M32"),
}


def memory_parts(models: Path, workdir: Path) -> dict[str, float]:
    """Resident MiB of a fresh Python after each step alone (the parts' costs are the differences)."""
    out = {}
    for name, code in PARTS.items():
        script = (
            f"M8 = {str(models / 'model_int8.onnx')!r}; M32 = {str(models / 'model_fp32.onnx')!r}; "
            f"DB = {str(workdir / 'probe.sqlite3')!r}\n{code}\n"
            "print(int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]) / 1024)"
        )
        out[name] = float(
            subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
        )
    return out


def model_speed(models: Path, images: int) -> dict[str, dict]:
    """Each model alone in the gateway's session settings, one image at a time."""
    import skimage.data
    from PIL import Image

    from edge_gateway.classifier import open_session
    from edge_gateway.images import to_model_input

    inputs = [
        to_model_input(Image.fromarray(getattr(skimage.data, n)()).convert("RGB"))
        for n in ("chelsea", "coffee", "astronaut", "rocket")
    ]
    crops = [to_model_input(Image.open(__import__("io").BytesIO(f))) for f in _frames(200, 200, False, seed=1)]
    out = {}
    answers = {}
    for name in ("fp32", "int8"):
        path = models / f"model_{name}.onnx"
        session = open_session(path, threads=1, arena=False)
        times = []
        for i in range(images):
            started = time.perf_counter()
            session.run(None, {"input": inputs[i % len(inputs)][None]})
            times.append((time.perf_counter() - started) * 1000)
        answers[name] = [int(session.run(None, {"input": c[None]})[0].argmax()) for c in crops]
        out[name] = {
            "file_mib": round(path.stat().st_size / 2**20, 2),
            "images_per_s": round(1000 / float(np.mean(times)), 1),
            "p50_ms": round(float(np.percentile(times, 50)), 2),
            "p95_ms": round(float(np.percentile(times, 95)), 2),
        }
    out["int8"]["top1_agreement_with_fp32"] = round(
        float(np.mean(np.array(answers["int8"]) == np.array(answers["fp32"]))), 3
    )
    return out


def disk_per_million(workdir: Path, results: int) -> dict:
    from edge_gateway.store import Result, Store

    store = Store(workdir / "disk.sqlite3")
    for i in range(results):
        store.accept(
            Result(
                str(uuid.uuid4()),
                "camera-entrance",
                "2026-12-01T10:00:00+00:00",
                "2026-12-01T10:00:01+00:00",
                f"{i:064x}",
                285,
                "Egyptian cat",
                0.8,
                "v1",
                False,
            )
        )
    store.acknowledge([seq for seq, *_ in store.oldest(results)])  # forwarded: the outbox is empty again
    store.trim_cache(0)  # the cache is bounded on its own (cache_entries): not part of the growth
    store.close()
    db = sqlite3.connect(workdir / "disk.sqlite3")
    pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size"))
    used = (pages - free) * size
    return {"results": results, "bytes": used, "mib_per_million": round(used / results * 1e6 / 2**20, 1)}


def sync_after_offline(stack: Stack, count: int, report: Report) -> dict:
    stack.cloud.stop()
    frames = _frames(count, max(1, count // 50), False, seed=2)  # mostly cache hits: ingest is quick
    asyncio.run(_load(stack, frames, 4))
    waiting = httpx.get(f"{stack.url}/v1/status").json()["outbox_entries"]
    report(f"cloud back after {waiting} results queued")
    stack.cloud.start()
    back = time.perf_counter()
    # The gateway notices at its next try (its backoff after failures is at most backoff_max_s).
    while httpx.get(f"{stack.url}/v1/status").json()["outbox_entries"] == waiting:
        time.sleep(0.05)
    started = time.perf_counter()
    while httpx.get(f"{stack.url}/v1/status").json()["outbox_entries"] > 0:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    return {
        "queued": waiting,
        "first_batch_after_s": round(started - back, 2),
        "seconds_to_drain": round(seconds, 2),
        "entries_per_s": round(waiting / max(seconds, 1e-3), 1),
    }


def startup_to_first_answer(stack: Stack) -> float:
    client_module = device_client()
    stack.stop_gateway()
    frame = _frames(1, 1, False, seed=3)[0]
    started = time.perf_counter()
    stack.start_gateway(wait_for="live")
    while True:
        try:
            response = httpx.post(
                f"{stack.url}/v1/classify",
                files={"image": ("f.jpg", frame)},
                headers=client_module.signed("camera-entrance", stack.device_keys["camera-entrance"], frame),
                timeout=10,
            )
            if response.status_code == 200:
                return round(time.perf_counter() - started, 2)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)


def run_gateway_load(stack: Stack, scale: float, report: Report) -> list[dict]:
    count = max(16, int(300 * scale))
    rows = []
    for profile, cpus in (("two cores", None), ("one core (taskset -c 0)", "0")):
        stack.stop_gateway()
        stack.start_gateway(cpus=cpus, cache_entries="0")  # the model answers every image
        for concurrency in (1, 4):
            report(f"gateway load: {profile}, {concurrency} devices")
            distinct = _frames(count, count, False, seed=concurrency + (10 if cpus else 0))
            asyncio.run(_load(stack, _frames(8, 8, False, seed=50 + concurrency), concurrency))  # warm-up
            measured = asyncio.run(_load(stack, distinct, concurrency))
            current, peak = rss_of(stack.gateway.proc.pid)  # type: ignore[union-attr]
            rows.append(
                {
                    "profile": profile,
                    "concurrency": concurrency,
                    **measured,
                    "rss_mib": round(current, 1),
                    "peak_rss_mib": round(peak, 1),
                }
            )
    stack.stop_gateway()
    stack.start_gateway()
    return rows


def run_cache(stack: Stack, scale: float, report: Report) -> list[dict]:
    count = max(60, int(400 * scale))  # at least three frames per scene
    rows = []
    for workload, seed in (
        ("camera: the same frame while nothing moves (20 scenes)", 20),
        ("camera with sensor noise (no two frames alike)", 21),
    ):
        for cache in ("on", "off"):
            frames = _frames(count, 20, workload.startswith("camera with"), seed=seed + (100 if cache == "off" else 0))
            report(f"cache {cache}: {workload}")
            stack.stop_gateway()
            stack.start_gateway(cache_entries="10000" if cache == "on" else "0")
            rows.append({"workload": workload, "cache": cache, **asyncio.run(_load(stack, frames, 2))})
    stack.stop_gateway()
    stack.start_gateway()
    return rows


def chart(result: dict, path: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    models = result["model"]
    axes[0].bar(
        ["float32", "int8"],
        [models["fp32"]["images_per_s"], models["int8"]["images_per_s"]],
        color=["tab:grey", "tab:blue"],
    )
    axes[0].set_title("model alone, one thread (images/s)")
    load = result["gateway_load"]
    for profile in dict.fromkeys(r["profile"] for r in load):
        rows = [r for r in load if r["profile"] == profile]
        axes[1].plot([r["concurrency"] for r in rows], [r["throughput_rps"] for r in rows], marker="o", label=profile)
    axes[1].set_xticks([1, 4])
    axes[1].set_xlabel("concurrent devices")
    axes[1].set_title("gateway over HTTP (images/s)")
    axes[1].set_ylim(bottom=0)
    axes[1].legend(fontsize=8)
    parts = result["memory"]["parts_mib"]
    steps = [name for name in parts if name != "float32 model instead"]
    base = 0.0
    for name in steps:
        value = parts[name] - base
        axes[2].bar(["parts, one on another"], [value], bottom=[base], label=f"{name.lstrip('+ ')}: {value:.0f} MiB")
        base = parts[name]
    axes[2].bar(["gateway under load (peak)"], [max(r["peak_rss_mib"] for r in load)], color="tab:grey")
    axes[2].set_title("resident memory (MiB)")
    axes[2].legend(fontsize=7)
    for axis in axes:
        axis.grid(alpha=0.3)
    fig.suptitle(f"Project 10, the edge gateway ({result['machine']['cpu']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def markdown(result: dict, path: Path) -> Path:
    m = result["model"]
    out = [
        "<!-- --8<-- [start:model] -->",
        "| model | file MiB | images/s | p50 ms | p95 ms | top-1 as float32 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("fp32", "float32"), ("int8", "int8")):
        r = m[name]
        cells = [
            label,
            r["file_mib"],
            r["images_per_s"],
            r["p50_ms"],
            r["p95_ms"],
            r.get("top1_agreement_with_fp32", 1),
        ]
        out.append("| " + " | ".join(map(str, cells)) + " |")
    out += ["<!-- --8<-- [end:model] -->", "", "<!-- --8<-- [start:load] -->"]
    out += [
        "| profile | devices | images/s | p50 ms | p95 ms | RSS MiB | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["gateway_load"]:
        cells = [
            r["profile"],
            r["concurrency"],
            f"{r['throughput_rps']:.1f}",
            f"{r['p50_ms']:.0f}",
            f"{r['p95_ms']:.0f}",
        ]
        out.append("| " + " | ".join(map(str, [*cells, r["rss_mib"], r["peak_rss_mib"]])) + " |")
    out += ["<!-- --8<-- [end:load] -->", "", "<!-- --8<-- [start:cache] -->"]
    out += ["| workload | cache | hit rate | images/s | p50 ms |", "|---|---|---:|---:|---:|"]
    for r in result["cache"]:
        cells = [
            r["workload"],
            r["cache"],
            f"{r['cache_hit_rate']:.2f}",
            f"{r['throughput_rps']:.1f}",
            f"{r['p50_ms']:.0f}",
        ]
        out.append("| " + " | ".join(cells) + " |")
    mem = result["memory"]
    out += [
        "<!-- --8<-- [end:cache] -->",
        "",
        "<!-- --8<-- [start:memory] -->",
        "| process | resident MiB |",
        "|---|---:|",
    ]
    for name, value in mem["parts_mib"].items():
        out.append(f"| {name} | {value:.0f} |")
    out += [
        f"| the gateway, idle after start | {mem['gateway_idle_mib']:.0f} |",
        f"| the gateway, peak under load | {max(r['peak_rss_mib'] for r in result['gateway_load']):.0f} |",
        "<!-- --8<-- [end:memory] -->",
        "",
        "<!-- --8<-- [start:other] -->",
        "| measure | value |",
        "|---|---:|",
        f"| start-up to first answer | {result['startup_s']} s |",
        f"| disk per million results (SQLite, forwarded) | {result['disk']['mib_per_million']} MiB |",
        f"| outbox drained after an offline period | {result['sync']['queued']} entries in"
        f" {result['sync']['seconds_to_drain']} s ({result['sync']['entries_per_s']}/s), the first batch"
        f" {result['sync']['first_batch_after_s']} s after the cloud was back |",
        "<!-- --8<-- [end:other] -->",
        "",
        f"Measured on {result['machine']['cpu']} ({result['machine']['cores']} cores), {result['machine']['date']}.",
    ]
    path.write_text("\n".join(out) + "\n")
    return path


def run(out: Path | None = None, scale: float = 1.0, report: Report = print, stack: Stack | None = None) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if stack is None:
        with tempfile.TemporaryDirectory() as run_dir, running_stack(Path(run_dir), report=report) as started:
            return run(out, scale, report, started)
    with tempfile.TemporaryDirectory() as work:
        report("measuring the model alone, memory per part and disk per result")
        result = {
            "machine": machine(),
            "model": model_speed(stack.models, max(20, int(200 * scale))),
            "memory": {"parts_mib": memory_parts(stack.models, Path(work))},
            "disk": disk_per_million(Path(work), max(1000, int(20_000 * scale))),
        }
    result["memory"]["gateway_idle_mib"] = round(rss_of(stack.gateway.proc.pid)[0], 1)  # type: ignore[union-attr]
    result["gateway_load"] = run_gateway_load(stack, scale, report)
    result["cache"] = run_cache(stack, scale, report)
    result["startup_s"] = startup_to_first_answer(stack)
    result["sync"] = sync_after_offline(stack, max(100, int(3000 * scale)), report)
    (out / "benchmark.json").write_text(json.dumps(result, indent=2))
    return [out / "benchmark.json", chart(result, out / "benchmark.png"), markdown(result, out / "benchmark.md")]
