"""The workers' client for open_nsfw on Triton: [N, 224, 224, 3] float32 in, N scores out.
Celery workers are synchronous processes: one blocking gRPC client per worker process."""

from __future__ import annotations

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

INPUT, OUTPUT = "input_0", "4195"  # the names inside the published open_nsfw ONNX graph


class TritonUnavailable(RuntimeError):
    """Triton cannot serve the model right now."""


class ModerationModelClient:
    def __init__(self, url: str, model: str, timeout_s: float = 30.0):
        self._client = grpcclient.InferenceServerClient(url=url)
        self.model, self.timeout_s = model, timeout_s

    def is_ready(self) -> bool:
        try:
            return self._client.is_model_ready(self.model, client_timeout=2.0)
        except (InferenceServerException, grpc.RpcError):
            return False

    def nsfw_scores(self, batch: np.ndarray) -> np.ndarray:
        """Probability that each frame is not safe for work (the model's second softmax output)."""
        tensor = grpcclient.InferInput(INPUT, list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch.astype(np.float32, copy=False))
        try:
            result = self._client.infer(
                self.model, [tensor], client_timeout=self.timeout_s, outputs=[grpcclient.InferRequestedOutput(OUTPUT)]
            )
        except (InferenceServerException, grpc.RpcError) as exc:
            raise TritonUnavailable(str(exc)) from exc
        return result.as_numpy(OUTPUT)[:, 1]

    def close(self) -> None:
        self._client.close()
