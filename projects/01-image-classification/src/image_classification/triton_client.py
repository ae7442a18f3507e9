"""The one client the service uses to talk to Triton: async gRPC, shared by every request."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from image_classification import metrics
from image_classification.triton_shared_memory import InputSlots, Slot

# Reconnect quickly after Triton restarts; gRPC's default backoff grows to two minutes.
CHANNEL_ARGS = [
    ("grpc.max_send_message_length", 2**31 - 1),
    ("grpc.max_receive_message_length", 2**31 - 1),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]
UNAVAILABLE_CODES = {"StatusCode.UNAVAILABLE", "StatusCode.DEADLINE_EXCEEDED", "StatusCode.CANCELLED"}
# Triton answers INTERNAL when the process running a model instance has died ("Stub process ... is
# not healthy", python backend): the model is unavailable, not the request wrong.
UNAVAILABLE_MESSAGES = ("not ready", "is not healthy")
RETRY_TURN_S = 0.5  # the longest a request that failed with its batch waits to be sent again


class TritonUnavailable(RuntimeError):
    """Triton cannot serve the model right now (down, restarting, model not loaded)."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    input_name: str
    output_name: str


@dataclass(frozen=True)
class Inference:
    logits: np.ndarray
    model_version: str  # the version that answered: it changes when Triton rolls out another


class TritonClassifierClient:
    """Calls one classification model on Triton: a [N,3,H,W] float32 batch in, [N,classes] logits out."""

    def __init__(
        self,
        url: str,
        model_name: str,
        model_version: str = "",
        timeout_s: float = 10.0,
        shared_memory: InputSlots | None = None,
        retry_model_errors: bool = True,
    ):
        self._client = grpcclient.InferenceServerClient(url=url, channel_args=CHANNEL_ARGS)
        self._model_name = model_name
        self._model_version = model_version
        self._timeout_s = timeout_s
        self._info: ModelInfo | None = None
        self._slots = shared_memory  # None: every tensor travels inside the gRPC request
        self._retry_model_errors = retry_model_errors
        self._retry_turn = asyncio.Lock()  # one retry in flight at a time

    async def close(self) -> None:
        if self._slots is not None:
            await self._slots.close(self._client)
        await self._client.close()

    async def is_ready(self) -> bool:
        try:
            return await self._client.is_model_ready(self._model_name, self._model_version, client_timeout=2.0)
        except (InferenceServerException, grpc.aio.AioRpcError):
            return False

    async def model_info(self) -> ModelInfo:
        """Tensor names from Triton's metadata, cached: they stay the same across versions."""
        if self._info is None:
            meta = await self._call(
                self._client.get_model_metadata(self._model_name, self._model_version, as_json=True)
            )
            self._info = ModelInfo(
                name=meta["name"],
                input_name=meta["inputs"][0]["name"],
                output_name=meta["outputs"][0]["name"],
            )
        return self._info

    # --8<-- [start:retry]
    async def infer(self, batch: np.ndarray) -> Inference:
        """One inference call; Triton's dynamic batcher may merge it with other callers' requests.

        When the model raises, Triton fails every request of that batch, not only the one whose
        input caused it. So a request that fails that way is sent once more, and retries go one at a
        time: a retry is never batched with another (the request that caused it is among them). An
        innocent request is answered; the guilty one fails again. A request that waits more than
        RETRY_TURN_S for its turn fails as it did: a model that fails on everything must not build
        a queue of retries."""
        try:
            return await self._infer_once(batch)
        except InferenceServerException:
            if not self._retry_model_errors:
                raise
            if not await self._turn_to_retry():
                metrics.MODEL_ERROR_RETRIES.labels("no turn").inc()
                raise
        try:
            inference = await self._infer_once(batch)
        except InferenceServerException:
            metrics.MODEL_ERROR_RETRIES.labels("failed again").inc()
            raise
        finally:
            self._retry_turn.release()
        metrics.MODEL_ERROR_RETRIES.labels("answered").inc()
        return inference

    async def _turn_to_retry(self) -> bool:
        try:
            async with asyncio.timeout(RETRY_TURN_S):
                await self._retry_turn.acquire()
        except TimeoutError:
            return False
        return True

    # --8<-- [end:retry]

    # --8<-- [start:infer]
    async def _infer_once(self, batch: np.ndarray) -> Inference:
        """The tensor goes through shared memory when a slot is free, else inside the request."""
        info = await self.model_info()
        batch = batch.astype(np.float32, copy=False)
        slots = self._slots
        if slots is None or not await slots.ensure_registered(self._client):
            return await self._infer(info, batch, None)
        slot = slots.take(batch)  # None: all in use, or the batch is larger than one
        try:
            return await self._infer(info, batch, slot)
        except InferenceServerException as exc:
            if slot is None or "shared memory" not in exc.message().lower():
                raise
            slots.forget()  # Triton restarted and lost the regions: send this one as bytes
            return await self._infer(info, batch, None)
        finally:
            if slot is not None:
                slots.give_back(slot)

    async def _infer(self, info: ModelInfo, batch: np.ndarray, slot: Slot | None) -> Inference:
        tensor = grpcclient.InferInput(info.input_name, list(batch.shape), "FP32")
        if slot is not None:
            tensor.set_shared_memory(slot.name, batch.nbytes)
        else:
            tensor.set_data_from_numpy(batch)
        result = await self._call(
            self._client.infer(
                self._model_name,
                inputs=[tensor],
                model_version=self._model_version,
                outputs=[grpcclient.InferRequestedOutput(info.output_name)],
                client_timeout=self._timeout_s,
            )
        )
        metrics.TENSOR_TRANSFERS.labels("shared_memory" if slot is not None else "grpc").inc()
        return Inference(result.as_numpy(info.output_name), result.get_response().model_version)

    # --8<-- [end:infer]

    @staticmethod
    async def _call(awaitable):
        """Triton's answer, or TritonUnavailable (the service answers 503) when the model cannot run."""
        try:
            return await awaitable
        except InferenceServerException as exc:
            if exc.status() in UNAVAILABLE_CODES or any(m in exc.message().lower() for m in UNAVAILABLE_MESSAGES):
                raise TritonUnavailable(exc.message()) from exc
            raise
        except grpc.aio.AioRpcError as exc:
            raise TritonUnavailable(str(exc.details())) from exc
