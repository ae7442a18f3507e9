"""The service's one Triton client (async gRPC, shared by every request): class probabilities for
a batch of feature rows, under a deadline."""

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


class ModelUnavailable(RuntimeError):
    """Triton did not answer for this model: down, not loaded, or past the deadline."""


class TritonModels:
    def __init__(self, url: str, timeout_s: float):
        self.timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url=url, channel_args=CHANNEL_ARGS)

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self, model: str) -> bool:
        try:
            return await self._client.is_model_ready(model, client_timeout=2.0)
        except (InferenceServerException, grpc.aio.AioRpcError):
            return False

    async def probabilities(self, model: str, features: np.ndarray) -> np.ndarray:
        tensor = grpcclient.InferInput("FEATURES", list(features.shape), "FP32")
        tensor.set_data_from_numpy(features)
        try:
            result = await self._client.infer(
                model,
                [tensor],
                outputs=[grpcclient.InferRequestedOutput("PROBABILITIES")],
                client_timeout=self.timeout_s,
            )
        except (InferenceServerException, grpc.aio.AioRpcError) as exc:
            raise ModelUnavailable(f"{model}: {exc}") from exc
        probabilities = result.as_numpy("PROBABILITIES")
        if probabilities is None or not np.isfinite(probabilities).all():
            raise ModelUnavailable(f"{model}: no finite probabilities in the answer")
        return probabilities
