"""TorchServe handler for EfficientNet-Lite0: the same ONNX file, the same preprocessing and the
same ONNX Runtime as the course's service, behind TorchServe's own front end (Java), batcher and
Python workers. TorchServe calls ``handle`` with every request of a batch (``batch_size`` and
``max_batch_delay`` at registration) and expects one answer per request, in order.

``preprocessing.py`` is the service's own module, shipped in the model archive (``--extra-files``):
TorchServe puts the archive's folder on the worker's path."""

import os

import numpy as np
import onnxruntime as ort
from preprocessing import ImageTooLarge, InvalidImage, prepare_batch

TOP_K = 5
MAX_PIXELS = 40_000_000  # as the service's IMAGE_CLASSIFICATION_MAX_IMAGE_PIXELS


def top_k(logits: np.ndarray, k: int = TOP_K) -> list[dict]:
    exp = np.exp(logits - logits.max())
    probabilities = exp / exp.sum()
    return [{"class_id": int(i), "score": float(probabilities[i])} for i in np.argsort(probabilities)[::-1][:k]]


class EfficientNetHandler:
    def initialize(self, context) -> None:
        model_dir = context.system_properties["model_dir"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("ORT_INTRA_OP_THREADS", "1"))
        self.session = ort.InferenceSession(
            os.path.join(model_dir, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def handle(self, data: list[dict], context) -> list:
        # An unreadable image fails its own request (422), not the batch it arrived in.
        answers: list = [None] * len(data)
        tensors, positions = [], []
        for i, request in enumerate(data):
            body = request.get("data") or request.get("body") or b""
            try:
                tensors.append(prepare_batch([bytes(body)], MAX_PIXELS).tensor)
                positions.append(i)
            except (InvalidImage, ImageTooLarge) as exc:
                context.set_response_status(422, str(exc), idx=i)
                answers[i] = {"detail": str(exc)}
        if tensors:
            (logits,) = self.session.run(None, {"input": np.concatenate(tensors)})
            for i, row in zip(positions, logits, strict=True):
                answers[i] = {"predictions": top_k(row)}
        return answers
