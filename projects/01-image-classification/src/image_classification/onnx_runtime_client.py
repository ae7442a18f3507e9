"""The model inside the service process, for the edge: ONNX Runtime on the same model file that
Triton serves, behind the same two calls the classifier makes (``infer`` and ``model_info``).

Where a small box has no room for a model server (no GPU, a few cores, a few hundred MB of memory,
a network that comes and goes), the service loads the model itself. The file is checked against
its SHA-256 before it is loaded: at the edge, updates arrive as files, and a truncated download must
not become the model that answers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
from starlette.concurrency import run_in_threadpool

from image_classification.triton_client import Inference, ModelInfo


class ModelFileRejected(RuntimeError):
    """The model file is missing or is not the one the settings name."""


# --8<-- [start:edge-client]
class OnnxRuntimeClassifier:
    def __init__(self, model_path: Path | None, expected_sha256: str | None, threads: int, model_name: str):
        if model_path is None or not model_path.is_file():
            raise ModelFileRejected(f"no model file at {model_path}")
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
        if expected_sha256 and digest != expected_sha256:
            raise ModelFileRejected(f"{model_path} has SHA-256 {digest}, expected {expected_sha256}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads  # the box's cores are shared with the service
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._info = ModelInfo(model_name, self._session.get_inputs()[0].name, self._session.get_outputs()[0].name)
        self.version = digest[:12]  # the file is the version: the API says exactly which one answered

    async def infer(self, batch: np.ndarray) -> Inference:
        feed = {self._info.input_name: batch.astype(np.float32, copy=False)}
        (logits,) = await run_in_threadpool(self._session.run, [self._info.output_name], feed)
        return Inference(logits, self.version)

    # --8<-- [end:edge-client]

    async def model_info(self) -> ModelInfo:
        return self._info

    async def is_ready(self) -> bool:
        return True  # loaded in the constructor, or the service did not start

    async def close(self) -> None:
        pass
