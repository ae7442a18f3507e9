"""The domain logic: images in, top-k ImageNet classes out, with where the time went."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from starlette.concurrency import run_in_threadpool

from image_classification import metrics
from image_classification.services.labels import imagenet_labels
from image_classification.services.preprocessing import prepare_batch
from image_classification.triton_client import Inference, ModelInfo


@dataclass(frozen=True)
class ClassScore:
    class_id: int
    label: str
    score: float


@dataclass(frozen=True)
class Classification:
    predictions: list[list[ClassScore]]
    model_name: str
    model_version: str
    decode_ms: float
    preprocess_ms: float
    inference_ms: float


# --8<-- [start:postprocess]
def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, k: int) -> list[ClassScore]:
    labels = imagenet_labels()
    best = np.argsort(probabilities)[::-1][:k]
    return [ClassScore(int(i), labels[i], float(probabilities[i])) for i in best]


# --8<-- [end:postprocess]


class ModelBackend(Protocol):
    """Where the model runs: Triton (``TritonClassifierClient``) or this process (``OnnxRuntimeClassifier``)."""

    async def infer(self, batch: np.ndarray) -> Inference: ...
    async def model_info(self) -> ModelInfo: ...
    async def is_ready(self) -> bool: ...
    async def close(self) -> None: ...


class Classifier:
    def __init__(self, backend: ModelBackend):
        self._backend = backend

    # --8<-- [start:classify]
    async def classify(self, uploads: list[bytes], k: int, max_pixels: int) -> Classification:
        # Decode and preprocess: CPU work, off the event loop, in one trip to a worker thread.
        batch = await run_in_threadpool(prepare_batch, uploads, max_pixels)
        preprocessed = time.perf_counter()
        inference = await self._backend.infer(batch.tensor)
        inferred = time.perf_counter()
        probabilities = softmax(inference.logits)
        info = await self._backend.model_info()

        metrics.INFERENCE_SECONDS.labels(info.name).observe(inferred - preprocessed)
        metrics.IMAGES_CLASSIFIED.labels(info.name).inc(len(uploads))
        for row in probabilities:
            metrics.TOP1_CONFIDENCE.labels(info.name).observe(float(row.max()))
        return Classification(
            predictions=[top_k(row, k) for row in probabilities],
            model_name=info.name,
            model_version=inference.model_version,
            decode_ms=batch.decode_ms,
            preprocess_ms=batch.preprocess_ms,
            inference_ms=(inferred - preprocessed) * 1000,
        )

    # --8<-- [end:classify]
