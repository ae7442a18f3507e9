"""Benchmark of project 04: frames per second end to end (upload, queue, decode, preprocess,
Triton, record) with 1 and 2 workers and Triton batches of 1, 8 and 32 frames, and the time from
submitting a job to receiving its webhook. One run, one machine; compare the ratios."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import httpx
import matplotlib
import numpy as np
from PIL import Image
from skimage import data

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.load import machine
from study.paths import DOCS_DIR
from study.webhook_receiver import WebhookReceiver

from .stack import running_stack

DEFAULT_OUT = DOCS_DIR / "projects" / Path(__file__).resolve().parents[1].name / "results"
WORKERS = (1, 2)
BATCHES = (1, 8, 32)
SAMPLE_FPS = 2


def make_video(path: Path, seconds: int, fps: int = 10) -> Path:
    """Alternating photos from scikit-image, 320x240 MPEG-4: real decoding work, known content."""
    photos = [
        np.asarray(Image.fromarray(load()).convert("RGB").resize((320, 240)))
        for load in (data.coffee, data.astronaut, data.chelsea, data.rocket)
    ]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt, stream.time_base = 320, 240, "yuv420p", Fraction(1, fps)
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(photos[(i // (fps * 5)) % len(photos)], format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def arrivals(receiver: WebhookReceiver) -> dict[str, float]:
    return {json.loads(d.body)["job_id"]: d.at for d in receiver.deliveries}


def run_round(url: str, video: Path, jobs: int, receiver: WebhookReceiver) -> dict:
    """Submit ``jobs`` copies of the video at once; wait for every webhook."""
    content = video.read_bytes()

    def submit(_: int) -> tuple[str, float]:
        started = time.time()
        response = httpx.post(
            f"{url}/v1/jobs",
            timeout=60,
            data={"webhook_url": receiver.url},
            files={"video": (video.name, content, "video/mp4")},
        )
        response.raise_for_status()
        return response.json()["id"], started

    started = time.time()
    with ThreadPoolExecutor(jobs) as pool:
        submitted = dict(pool.map(submit, range(jobs)))
    while not set(submitted) <= set(arrivals(receiver)):
        if time.time() - started > 900:
            raise TimeoutError("webhooks did not arrive")
        time.sleep(0.05)
    arrived = arrivals(receiver)
    elapsed = max(arrived[j] for j in submitted) - started
    frames = sum(httpx.get(f"{url}/v1/jobs/{j}").json()["frames_done"] for j in submitted)
    to_webhook = [arrived[j] - t for j, t in submitted.items()]
    return {
        "jobs": jobs,
        "frames": frames,
        "seconds": round(elapsed, 2),
        "frames_per_s": round(frames / elapsed, 1),
        "submit_to_webhook_p50_s": round(float(np.percentile(to_webhook, 50)), 2),
        "submit_to_webhook_max_s": round(max(to_webhook), 2),
    }


def run(out: Path | None = None, scale: float = 1.0, report: Callable[[str], None] = print) -> list[Path]:
    out = out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    seconds, jobs = max(4, int(30 * scale)), max(2, int(4 * scale))
    results, single = [], {}
    receiver = WebhookReceiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            video = make_video(Path(tmp) / "bench.mp4", seconds)
            env = {"VIDEO_MODERATION_SAMPLE_FPS": str(SAMPLE_FPS)}
            for workers in WORKERS:
                with running_stack(Path(tmp) / f"w{workers}", report=report, service_env=env, workers=workers) as stack:
                    for batch in BATCHES:
                        stack.restart_service(VIDEO_MODERATION_BATCH_SIZE=str(batch))
                        run_round(stack.url, video, 1, receiver)  # warm-up: first decode, first batch
                        report(f"{workers} worker(s), batches of {batch}: {jobs} jobs of {seconds} s")
                        results.append(
                            {"workers": workers, "batch": batch, **run_round(stack.url, video, jobs, receiver)}
                        )
                    if workers == 1:
                        stack.restart_service(VIDEO_MODERATION_BATCH_SIZE="8")
                        single = run_round(stack.url, video, 1, receiver)
    finally:
        receiver.close()
    result = {
        "benchmark": "video-moderation",
        "machine": machine(),
        "model": "open_nsfw ResNet-50 (ONNX), Triton python backend on CPU",
        "video": {
            "seconds": seconds,
            "fps": 10,
            "size": "320x240",
            "codec": "mpeg4",
            "sample_fps": SAMPLE_FPS,
            "jobs_per_round": jobs,
        },
        "results": results,
        "single_job_idle": single,
        "ratios": ratios(results),
    }
    paths = [out / "benchmark.json", out / "benchmark.png", out / "benchmark.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    chart(result, paths[1])
    paths[2].write_text(table(result))
    return paths


def _row(results: list[dict], workers: int, batch: int) -> dict:
    return next(r for r in results if (r["workers"], r["batch"]) == (workers, batch))


def ratios(results: list[dict]) -> dict:
    out = {
        f"two_over_one_worker_batch{b}": round(
            _row(results, 2, b)["frames_per_s"] / _row(results, 1, b)["frames_per_s"], 2
        )
        for b in BATCHES
    }
    for w in WORKERS:
        for b in BATCHES[1:]:
            out[f"batch{b}_over_batch1_workers{w}"] = round(
                _row(results, w, b)["frames_per_s"] / _row(results, w, 1)["frames_per_s"], 2
            )
    return out


def chart(result: dict, path: Path) -> None:
    host = result["machine"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    x = np.arange(len(BATCHES))
    for offset, workers in ((-0.2, 1), (0.2, 2)):
        rows = [_row(result["results"], workers, b) for b in BATCHES]
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        bars = left.bar(x + offset, [r["frames_per_s"] for r in rows], 0.4, label=label)
        left.bar_label(bars, fmt="%.1f", fontsize=8)
        bars = right.bar(x + offset, [r["submit_to_webhook_p50_s"] for r in rows], 0.4, label=label)
        right.bar_label(bars, fmt="%.1f", fontsize=8)
    for axis, title in (
        (left, "Frames/s end to end"),
        (right, f"Submit to webhook, p50 s ({result['video']['jobs_per_round']} jobs at once)"),
    ):
        axis.set_xticks(x, [f"batch {b}" for b in BATCHES])
        axis.set_title(title)
        axis.grid(axis="y", alpha=0.3)
        axis.legend()
    fig.suptitle(f"open_nsfw on Triton (CPU): {host['cpu']}, {host['cores']} cores, {host['date']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(result: dict) -> str:
    host, video = result["machine"], result["video"]
    lines = [
        f"Local mode on CPU, {host['cpu']}, {host['cores']} cores, {host['date']}, "
        "`study bench video-moderation`; "
        f"each round: {video['jobs_per_round']} jobs submitted at once, each a {video['seconds']} s "
        f"{video['size']} video sampled at {video['sample_fps']} frames/s.",
        "",
        "| workers | Triton batch | frames | seconds | frames/s | submit → webhook p50 s | max s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["results"]:
        lines.append(
            f"| {r['workers']} | {r['batch']} | {r['frames']} | {r['seconds']} | {r['frames_per_s']} | "
            f"{r['submit_to_webhook_p50_s']} | {r['submit_to_webhook_max_s']} |"
        )
    single = result["single_job_idle"]
    lines += [
        "",
        f"One job alone on an idle stack (1 worker, batch 8): {single['frames']} frames, "
        f"submit → webhook {single['submit_to_webhook_p50_s']} s.",
        "",
        "| ratio (same run) | batch 1 | batch 8 | batch 32 |",
        "|---|---:|---:|---:|",
    ]
    q = result["ratios"]
    lines.append(
        "| 2 workers / 1 worker, frames/s | "
        + " | ".join(f"{q[f'two_over_one_worker_batch{b}']}×" for b in BATCHES)
        + " |"
    )
    for w in WORKERS:
        lines.append(
            f"| batch / batch 1, {w} worker{'s' if w > 1 else ''} | 1× | "
            + " | ".join(f"{q[f'batch{b}_over_batch1_workers{w}']}×" for b in BATCHES[1:])
            + " |"
        )
    return "\n".join(lines) + "\n"
