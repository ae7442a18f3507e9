"""The one client the service uses to talk to Triton: async gRPC, shared by every request. Every
sentiment model has the same interface (TEXT in; SCORES and LABEL out), so one call serves all."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from ab_platform import metrics
from ab_platform.settings import Settings

CHANNEL_ARGS = [  # reconnect quickly after Triton restarts; gRPC's default backoff grows to minutes
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class ModelUnavailable(RuntimeError):
    """Triton cannot serve this model now (down, unloaded, or past the deadline)."""


@dataclass(frozen=True)
class Sentiment:
    label: str
    scores: dict[str, float]
    latency_ms: float  # the model call, measured here


class SentimentModels:
    def __init__(self, settings: Settings):
        self._client = grpcclient.InferenceServerClient(url=settings.triton_url, channel_args=CHANNEL_ARGS)
        self._timeout_s = settings.model_timeout_s
        self._labels = settings.labels

    async def predict(self, model: str, text: str) -> Sentiment:
        tensor = grpcclient.InferInput("TEXT", [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[text.encode("utf-8")]], dtype=object))
        started = time.perf_counter()
        try:
            result = await self._client.infer(model, [tensor], client_timeout=self._timeout_s)
        except InferenceServerException as exc:
            raise ModelUnavailable(f"{model}: {exc.message()}") from None
        latency_ms = (time.perf_counter() - started) * 1000
        metrics.MODEL_LATENCY.labels(model).observe(latency_ms / 1000)
        scores = result.as_numpy("SCORES")[0]
        label = int(result.as_numpy("LABEL")[0, 0])
        return Sentiment(self._labels[label], dict(zip(self._labels, map(float, scores), strict=True)), latency_ms)

    async def ready(self, model: str) -> bool:
        try:
            return bool(await self._client.is_model_ready(model))
        except InferenceServerException:
            return False

    async def close(self) -> None:
        await self._client.close()
