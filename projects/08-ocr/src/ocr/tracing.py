"""OpenTelemetry traces: a server span per request (FastAPI instrumentation) with a child span per
pipeline stage, sent over OTLP to a collector (``OTEL_EXPORTER_OTLP_ENDPOINT``: the OpenTelemetry
Collector in compose, a local trace store in local mode). Log lines written inside a span carry its
trace and span ids, so a slow trace leads to its logs and a log line to its trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from ocr.settings import Settings


class TraceIdsFilter(logging.Filter):
    """Puts the current span's ids on each log record (the JSON formatter writes them out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class Tracing:
    def __init__(self, settings: Settings):
        self.provider: TracerProvider | None = None
        if settings.traces_exporter == "none":
            self.tracer: trace.Tracer = trace.NoOpTracer()
            return
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        self.provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("ocr")

    def instrument(self, app: FastAPI) -> None:
        for handler in logging.getLogger().handlers:
            handler.addFilter(TraceIdsFilter())
        if self.provider is not None:
            FastAPIInstrumentor.instrument_app(
                app,
                tracer_provider=self.provider,
                excluded_urls="/health/.*,/metrics",
                exclude_spans=["receive", "send"],
            )

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()  # flushes the spans still in the batch
