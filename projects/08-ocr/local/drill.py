"""The fault drill: with steady traffic on the local stack, inject a fault, watch the right alert
travel Prometheus -> Alertmanager -> the receiver, heal, and watch it resolve. Two faults:

* ``errors``: Triton stopped (every page gets a 503) -> OcrErrorBudgetFastBurn pages.
* ``latency``: the API rolled out with detection at 2048 pixels and enlargement up to 12x instead
  of 736 and 4x -- someone wanted smaller print found; a configuration change, no code edited --
  so every page takes several times longer -> OcrLatencyBudgetFastBurn.

Alerting runs in the stack's compressed time (stack.TIME_SCALE): the timeline's seconds are
minutes of production time. ``study drill ocr`` runs both and writes the timeline for the docs."""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import skimage.data
from PIL import Image

from study.paths import DOCS_DIR
from study.service import Report

from .stack import TIME_SCALE, Stack, running_stack

RESULTS_DIR = DOCS_DIR / "projects" / "08-ocr" / "results"
SLOW_SETTINGS = {"detection_side": "2048", "max_upscale": "12"}
FAULTS = {"errors": "OcrErrorBudgetFastBurn", "latency": "OcrLatencyBudgetFastBurn"}


def page_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.page()).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Traffic:
    """One client reading a page after another, as long as it runs: (seconds, status, latency)."""

    url: str
    started: float = field(default_factory=time.monotonic)
    started_wall: float = field(default_factory=time.time)
    answers: list[tuple[float, int, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        page = page_png()
        with httpx.Client(timeout=60) as client:
            while not self._stop.is_set():
                sent = time.monotonic()
                try:
                    status = client.post(
                        f"{self.url}/v1/ocr", files={"file": ("page.png", page, "image/png")}
                    ).status_code
                except httpx.TransportError:  # the API is being rolled out again: no answer
                    status = 0
                    time.sleep(0.2)
                self.answers.append((round(sent - self.started, 2), status, round(time.monotonic() - sent, 3)))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=90)


@dataclass
class DrillResult:
    fault: str
    alert: str
    time_scale: int
    events: dict[str, float]  # what happened, seconds after the traffic started
    answers: list[tuple[float, int, float]]
    notifications: list[dict]  # what the receiver got: status, receiver, alert, seconds

    @property
    def fired_after_s(self) -> float:
        return self.events["firing delivered"] - self.events["fault injected"]

    @property
    def resolved_after_s(self) -> float:
        return self.events["resolved delivered"] - self.events["cure started"]


def _delivered(stack: Stack, alert: str, status: str, since: int) -> bool:
    for delivery in stack.monitoring.webhook.deliveries[since:]:
        body = json.loads(delivery.body)
        if any(a["labels"]["alertname"] == alert and a["status"] == status for a in body["alerts"]):
            return True
    return False


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.25)


# --8<-- [start:drill]
def drill(stack: Stack, fault: str, warm_s: float = 20, timeout_s: float = 150, report: Report = print) -> DrillResult:
    """Steady traffic for ``warm_s``, then the fault until its alert reaches the receiver, then the
    cure until the receiver hears it resolved."""
    alert, webhook = FAULTS[fault], stack.monitoring.webhook
    since = len(webhook.deliveries)
    traffic = Traffic(stack.url)
    events: dict[str, float] = {}

    def mark(what: str) -> None:
        events[what] = round(time.monotonic() - traffic.started, 2)
        report(f"{events[what]:6.1f} s  {what}")

    traffic.start()
    try:
        time.sleep(warm_s)
        mark("fault injected")
        if fault == "errors":
            stack.triton.stop()
        else:
            stack.restart_service(**SLOW_SETTINGS)
        _wait(lambda: _delivered(stack, alert, "firing", since), timeout_s, f"{alert} reaching the receiver")
        mark("firing delivered")
        mark("cure started")
        if fault == "errors":
            stack.triton.start()
        else:
            stack.restart_service()
        mark("healed")
        _wait(lambda: _delivered(stack, alert, "resolved", since), timeout_s, f"{alert} resolving")
        mark("resolved delivered")
    finally:
        traffic.stop()
    bodies = [(delivery.at, json.loads(delivery.body)) for delivery in webhook.deliveries[since:]]
    notifications = [
        {
            "at_s": round(at - traffic.started_wall, 2),
            "receiver": body["receiver"],
            "status": body["status"],
            "alerts": sorted(a["labels"]["alertname"] for a in body["alerts"]),
        }
        for at, body in bodies
    ]
    return DrillResult(fault, alert, TIME_SCALE, events, traffic.answers, notifications)


# --8<-- [end:drill]


def run(out: Path | None = None, report: Report = print) -> list[Path]:
    """Both faults on a fresh local stack; the timelines as JSON and a chart."""
    out = out or RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as run_dir, running_stack(Path(run_dir), report=report) as stack:
        for fault in FAULTS:
            report(f"drill: {fault}")
            results.append(drill(stack, fault, report=report))
    data = [{**asdict(r), "fired_after_s": r.fired_after_s, "resolved_after_s": r.resolved_after_s} for r in results]
    (out / "drill.json").write_text(json.dumps(data, indent=2))
    return [out / "drill.json", timeline_chart(results, out / "drill.png")]


def timeline_chart(results: list[DrillResult], path: Path) -> Path:
    """One panel per fault: each answer's latency (red: 5xx, grey: no answer during a rollout),
    the SLO's 2.5 s line, and when the fault began, the page arrived, the cure began, it resolved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(9, 3.2 * len(results)))
    for axis, result in zip(axes, results, strict=True):
        for status, colour, label in ((200, "tab:blue", "200"), (503, "tab:red", "503"), (0, "tab:grey", "no answer")):
            points = [(t, latency) for t, code, latency in result.answers if code == status]
            if points:
                axis.scatter(*zip(*points, strict=True), s=8, color=colour, label=label)
        axis.axhline(2.5, color="black", linestyle=":", linewidth=1, label="SLO: 2.5 s")
        for what, style in (
            ("fault injected", "--"),
            ("firing delivered", "-"),
            ("healed", "--"),
            ("resolved delivered", "-"),
        ):
            axis.axvline(result.events[what], color="tab:orange" if "deliv" in what else "tab:green", linestyle=style)
            axis.annotate(what, (result.events[what], axis.get_ylim()[1]), rotation=90, va="top", fontsize=7)
        axis.set_title(
            f"{result.fault}: {result.alert} delivered {result.fired_after_s:.0f} s after the fault, "
            f"resolved {result.resolved_after_s:.0f} s after the cure (time compressed {result.time_scale}x)",
            fontsize=9,
        )
        axis.set_xlabel("seconds since the traffic started")
        axis.set_ylabel("latency (s)")
        axis.legend(fontsize=7, loc="center left")
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
