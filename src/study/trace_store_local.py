"""A trace store as a local process: Arize Phoenix, in its own environment (``phoenix.in``),
receiving OpenTelemetry spans over OTLP/gRPC on a free port and answering queries for them over
its REST API. Services export to it exactly as they export to a collector in compose
(``OTEL_EXPORTER_OTLP_ENDPOINT``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from study.environments import REQUIREMENTS_DIR, ensure_environment
from study.processes import LocalServer, ManagedProcess, free_port


@dataclass
class LocalTraceStore(LocalServer):
    data_dir: Path
    port: int = field(default_factory=free_port)  # UI and REST API
    otlp_port: int = field(default_factory=free_port)  # OTLP over gRPC
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def otlp_endpoint(self) -> str:
        """For ``OTEL_EXPORTER_OTLP_ENDPOINT`` (gRPC exporters)."""
        return f"http://127.0.0.1:{self.otlp_port}"

    def start(self, report: Callable[[str], None] = lambda _: None) -> None:
        env = ensure_environment("phoenix", REQUIREMENTS_DIR / "phoenix.txt", report)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        report("starting the trace store (Phoenix, OTLP receiver)")
        self.process = ManagedProcess(
            "phoenix (traces)",
            [str(env / "bin" / "phoenix"), "serve"],
            self.data_dir / "phoenix.log",
            env={
                "PHOENIX_WORKING_DIR": str(self.data_dir),
                "PHOENIX_HOST": "127.0.0.1",
                "PHOENIX_PORT": str(self.port),
                "PHOENIX_GRPC_PORT": str(self.otlp_port),
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",  # nothing fetched from outside
            },
        )
        self.process.start()
        self.process.wait_http_ok(f"{self.url}/healthz", 120)

    def spans(self, limit: int = 1000) -> list[dict]:
        """The latest spans received (every trace), newest first."""
        answer = httpx.get(f"{self.url}/v1/projects/default/spans", params={"limit": limit}, timeout=10)
        answer.raise_for_status()
        return answer.json()["data"]

    def trace(self, trace_id: str) -> list[dict]:
        return [span for span in self.spans() if span["context"]["trace_id"] == trace_id]
