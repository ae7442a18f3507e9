"""OpenTelemetry traces: a server span per request (FastAPI instrumentation), with a child span for each
stage of the pipeline (embed, search, generate) made by the answering service.

Where spans go is configuration: ``otlp`` sends them to a collector or Jaeger (compose mode, endpoint
from the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``); ``file`` writes one JSON object per span to a
file (local mode, where no trace backend runs); ``none`` turns tracing off."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from rag.settings import Settings


class Tracing:
    """The tracer the services use, and the provider to flush when the app stops."""

    def __init__(self, settings: Settings):
        self._file: TextIO | None = None
        self.provider: TracerProvider | None = None
        self.exporter: SpanExporter | None = None
        if settings.traces_exporter == "none":
            self.tracer: trace.Tracer = trace.NoOpTracer()
            return
        self.provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
        self.exporter = self._exporter(settings)
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter, schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("rag")

    def _exporter(self, settings: Settings) -> SpanExporter:
        if settings.traces_exporter == "otlp":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            return OTLPSpanExporter()
        path = Path(settings.traces_file or "traces.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        return ConsoleSpanExporter(out=self._file, formatter=lambda span: span.to_json(indent=None) + "\n")

    def instrument(self, app: FastAPI) -> None:
        if self.provider is not None:
            # Without exclude_spans a streamed answer would get one "http send" span per token.
            FastAPIInstrumentor.instrument_app(
                app,
                tracer_provider=self.provider,
                excluded_urls="/health/.*,/metrics",
                exclude_spans=["receive", "send"],
            )

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # flushes the spans still in the batch
        if self._file is not None:
            self._file.close()
