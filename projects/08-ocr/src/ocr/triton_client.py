"""The one client the service uses to talk to Triton: async gRPC, shared by every request.
Three calls, one per model: detect a page, classify line directions, read lines."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import numpy as np
import tritonclient.grpc.aio as grpcclient
from opentelemetry import propagate
from tritonclient.utils import InferenceServerException

from ocr.settings import Settings

# Reconnect quickly after Triton restarts; gRPC's default backoff grows to two minutes.
CHANNEL_ARGS = [
    ("grpc.max_send_message_length", 2**31 - 1),
    ("grpc.max_receive_message_length", 2**31 - 1),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class TritonUnavailable(RuntimeError):
    """Triton cannot serve a model right now (down, restarting, model not loaded)."""


@dataclass(frozen=True)
class Answer:
    outputs: dict[str, np.ndarray]
    model_version: str  # the version that answered: it changes when Triton rolls out another


class TritonModels:
    def __init__(self, settings: Settings):
        self._client = grpcclient.InferenceServerClient(url=settings.triton_url, channel_args=CHANNEL_ARGS)
        self._timeout_s = settings.triton_timeout_s
        self.detection = settings.detection_model
        self.direction = settings.direction_model
        self.recognition = settings.recognition_model

    async def close(self) -> None:
        await self._client.close()

    async def not_ready(self) -> list[str]:
        """The models Triton cannot serve now (all of them when Triton is unreachable)."""
        missing = []
        for model in (self.detection, self.direction, self.recognition):
            try:
                if not await self._client.is_model_ready(model, client_timeout=2.0):
                    missing.append(model)
            except (InferenceServerException, grpc.aio.AioRpcError):
                missing.append(model)
        return missing

    async def detect(self, page: np.ndarray) -> Answer:
        """[1,3,H,W] float32 -> text probability map [1,1,H,W]."""
        return await self._infer(self.detection, {"x": page}, ["fetch_name_0"])

    async def classify_direction(self, lines: np.ndarray) -> Answer:
        """[N,3,48,192] float32 -> [N,2] probabilities of 0° and 180°."""
        return await self._infer(self.direction, {"x": lines}, ["save_infer_model/scale_0.tmp_1"])

    async def recognize(self, lines: np.ndarray) -> Answer:
        """[N,3,48,W] float32 -> text [N,1] (bytes) and confidence [N,1], decoded inside Triton."""
        return await self._infer(self.recognition, {"x": lines}, ["text", "confidence"])

    async def _infer(self, model: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> Answer:
        tensors = []
        for name, array in inputs.items():
            tensor = grpcclient.InferInput(name, list(array.shape), "FP32")
            tensor.set_data_from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            tensors.append(tensor)
        headers: dict[str, str] = {}
        propagate.inject(headers)  # W3C traceparent: Triton's own spans join this request's trace
        try:
            result = await self._client.infer(
                model,
                tensors,
                outputs=[grpcclient.InferRequestedOutput(name) for name in outputs],
                client_timeout=self._timeout_s,
                headers=headers,
            )
        except (InferenceServerException, grpc.aio.AioRpcError) as exc:
            # Every failure of the call is the backend's: the inputs were made by this service.
            raise TritonUnavailable(f"{model}: {exc}") from exc
        return Answer(
            outputs={name: result.as_numpy(name) for name in outputs},
            model_version=result.get_response().model_version,
        )
