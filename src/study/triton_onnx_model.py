"""Triton python-backend model that runs an ONNX file with ONNX Runtime on CPU.

The local runner copies this file as ``<model>/1/model.py`` next to ``model.onnx`` when it derives
the CPU twin of a production (``onnxruntime_onnx``) model: the bundled Triton has only the python
backend. Tensor names, batching and the dynamic batcher come from the same config.pbtxt, so the
service cannot tell the difference. Runs inside Triton's own environment (numpy < 2).
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [tensor["name"] for tensor in config["output"]]
        self.batched = config.get("max_batch_size", 0) > 0
        model_path = Path(args["model_repository"]) / args["model_version"] / "model.onnx"
        options = ort.SessionOptions()
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    # --8<-- [start:execute]
    def execute(self, requests):
        # With dynamic batching, Triton hands over every request it merged: run them as one batch.
        feeds = {
            name: [pb_utils.get_input_tensor_by_name(r, name).as_numpy() for r in requests] for name in self.inputs
        }
        if not self.batched:
            return [
                self._respond(self.session.run(self.outputs, {n: feeds[n][i] for n in self.inputs}))
                for i in range(len(requests))
            ]
        sizes = [array.shape[0] for array in feeds[self.inputs[0]]]
        merged = {name: np.concatenate(arrays) for name, arrays in feeds.items()}
        results = self.session.run(self.outputs, merged)
        bounds = np.cumsum(sizes)[:-1]
        per_request = zip(*(np.split(result, bounds) for result in results), strict=False)
        return [self._respond(list(parts)) for parts in per_request]

    # --8<-- [end:execute]

    def _respond(self, arrays):
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor(name, np.ascontiguousarray(array))
                for name, array in zip(self.outputs, arrays, strict=False)
            ]
        )
