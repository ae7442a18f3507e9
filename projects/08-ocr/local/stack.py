"""Project 08 in local mode: Triton on CPU serving the PP-OCR models that ship in ``rapidocr``, a
trace store receiving the service's spans, the API, then Prometheus (the compose scrape config and
SLO rules) and Alertmanager routing the alerts to a webhook receiver."""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from study.alertmanager_local import LocalAlertmanager
from study.processes import ManagedProcess
from study.prometheus_local import LocalPrometheus
from study.service import Report, start_api
from study.trace_store_local import LocalTraceStore
from study.triton_local import LocalTriton, build_cpu_repository
from study.webhook_receiver import WebhookReceiver

PROJECT_DIR = Path(__file__).resolve().parents[1]
OBSERVABILITY = PROJECT_DIR / "observability"
# Local mode runs the production rules and routing 60 times faster: an hour's window is a minute.
TIME_SCALE = 60


def repository_build() -> dict:
    """The script compose's model-build service runs (which files of the wheel are which model, and
    the character list), loaded when a stack starts rather than when this module is imported."""
    return runpy.run_path(str(PROJECT_DIR / "model_build" / "build_repository.py"))


def start_triton(run_dir: Path, report: Report = print) -> LocalTriton:
    build = repository_build()
    models = build["shipped_models"]()
    repository = build_cpu_repository(PROJECT_DIR / "model_repository", models, run_dir / "model_repository")
    build["write_characters"](repository, models["text_recognition"])
    # Triton's own spans are a compose feature: it exports OTLP as JSON, which the OpenTelemetry
    # Collector takes and the local trace store (protobuf only) refuses.
    triton = LocalTriton(repository, run_dir / "logs" / "tritonserver.log")
    triton.start(report)
    return triton


def start_service(
    triton: LocalTriton,
    traces: LocalTraceStore | None,
    run_dir: Path,
    port: int | None = None,
    host: str = "127.0.0.1",
    settings: dict[str, str] | None = None,
) -> ManagedProcess:
    """The API; ``settings`` are extra OCR_* variables by their short name ({"detection_side": "1536"})."""
    env = {"OCR_TRITON_URL": triton.grpc_url, **{f"OCR_{k.upper()}": v for k, v in (settings or {}).items()}}
    if traces is None:
        env["OCR_TRACES_EXPORTER"] = "none"
    else:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = traces.otlp_endpoint
    return start_api("ocr API", "ocr", env, run_dir, port, host)


@dataclass
class Monitoring:
    """Prometheus scraping the API and Triton with the compose rules, Alertmanager with the compose
    routing, and the webhook every receiver posts to (its deliveries are the alerts received)."""

    prometheus: LocalPrometheus
    alertmanager: LocalAlertmanager
    webhook: WebhookReceiver

    def stop(self) -> None:
        self.prometheus.stop()
        self.alertmanager.stop()
        self.webhook.close()


def start_monitoring(service_url: str, triton: LocalTriton, run_dir: Path) -> Monitoring:
    webhook = WebhookReceiver()
    alertmanager = LocalAlertmanager(
        run_dir / "alertmanager", OBSERVABILITY / "alertmanager.yml", webhook.url, TIME_SCALE
    )
    alertmanager.start()
    prometheus = LocalPrometheus(
        run_dir / "prometheus",
        OBSERVABILITY / "prometheus.yml",
        targets={
            "api": service_url.removeprefix("http://"),
            "triton": triton.metrics_url.removeprefix("http://").removesuffix("/metrics"),
        },
        alertmanager=alertmanager.url.removeprefix("http://"),
        time_scale=TIME_SCALE,
    )
    prometheus.start()
    return Monitoring(prometheus, alertmanager, webhook)


@dataclass
class Stack:
    triton: LocalTriton
    traces: LocalTraceStore
    service: ManagedProcess
    monitoring: Monitoring
    run_dir: Path

    @property
    def url(self) -> str:
        return self.service.url

    def endpoints(self) -> dict[str, str]:
        """What `study up` prints for the reader to open."""
        return {
            "API docs": f"{self.url}/docs",
            "metrics": f"{self.url}/metrics",
            "traces (Phoenix)": self.traces.url,
            "Prometheus (alerts)": f"{self.monitoring.prometheus.url}/alerts",
            "Alertmanager": self.monitoring.alertmanager.url,
            "Triton metrics": self.triton.metrics_url,
        }

    # --8<-- [start:reconfigure]
    def restart_service(self, **settings: str) -> None:
        """Roll the API out again on the same port with other settings, as a deployment would
        (detection_side="2048": the drill's slow model). No settings: back to the defaults."""
        port = int(self.url.rsplit(":", 1)[1])
        self.service.stop()
        self.service = start_service(self.triton, self.traces, self.run_dir, port, settings=settings)

    # --8<-- [end:reconfigure]


# --8<-- [start:stack]
@contextmanager
def running_stack(
    run_dir: Path, port: int | None = None, host: str = "127.0.0.1", report: Report = print
) -> Iterator[Stack]:
    traces = LocalTraceStore(run_dir / "traces")
    traces.start(report)
    stopping = [traces.stop]  # what to stop, last started first
    try:
        triton = start_triton(run_dir, report)
        stopping.append(triton.stop)
        report("starting the FastAPI service")
        service = start_service(triton, traces, run_dir, port, host)
        stopping.append(service.stop)
        report("starting Prometheus and Alertmanager (rules in 60x compressed time)")
        monitoring = start_monitoring(service.url, triton, run_dir)
        stack = Stack(triton, traces, service, monitoring, run_dir)
        stopping[-1] = lambda: stack.service.stop()  # restart_service may have replaced it
        stopping.append(monitoring.stop)
        yield stack
    finally:
        for stop in reversed(stopping):
            stop()


# --8<-- [end:stack]
