"""The service's one Triton client (async gRPC, shared by every request): a model's fraud
probabilities for a batch of feature rows, under a deadline."""

from __future__ import annotations

import grpc
import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

CHANNEL_ARGS = [  # reconnect quickly after Triton restarts
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class ModelFailed(RuntimeError):
    """The model did not answer: not loaded, Triton down, or past its deadline (``timed_out``)."""

    def __init__(self, model: str, reason: str, timed_out: bool = False):
        super().__init__(f"{model}: {reason}")
        self.model, self.timed_out = model, timed_out


class TritonScorer:
    def __init__(self, url: str):
        self._client = grpcclient.InferenceServerClient(url=url, channel_args=CHANNEL_ARGS)

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self, model: str) -> bool:
        try:
            return await self._client.is_model_ready(model, client_timeout=2.0)
        except (InferenceServerException, grpc.aio.AioRpcError):
            return False

    async def infer(self, model: str, features: np.ndarray, outputs: list[str], deadline_s: float) -> list[np.ndarray]:
        tensor = grpcclient.InferInput("features", list(features.shape), "FP32")
        tensor.set_data_from_numpy(features)
        try:
            result = await self._client.infer(
                model,
                [tensor],
                outputs=[grpcclient.InferRequestedOutput(o) for o in outputs],
                client_timeout=deadline_s,
            )
        except InferenceServerException as exc:
            timed_out = "Deadline" in str(exc) or "DEADLINE_EXCEEDED" in str(exc.status() or "")
            raise ModelFailed(model, str(exc), timed_out) from exc
        except grpc.aio.AioRpcError as exc:
            raise ModelFailed(model, str(exc), exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED) from exc
        return [result.as_numpy(o) for o in outputs]

    async def fraud_probabilities(self, model: str, features: np.ndarray, deadline_s: float) -> np.ndarray:
        (probabilities,) = await self.infer(model, features, ["probabilities"], deadline_s)
        scores = probabilities[:, 1].astype(np.float64)
        if not np.isfinite(scores).all():  # never pass a NaN on as a vote
            raise ModelFailed(model, "answered with a non-finite probability")
        return scores
