"""Triton python-backend step of the fraud_ensemble pipeline: weighted soft vote.

Reads the weights that model_build/train.py fitted on the validation period from ensemble.json
beside this file; inputs are each model's [N, 2] class probabilities, the output the weighted mean
of their fraud column."""

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        folder = Path(args["model_repository"]) / args["model_version"]
        spec = json.loads((folder / "ensemble.json").read_text())
        self.weights = spec["weights"]

    def execute(self, requests):
        responses = []
        for request in requests:
            vote = sum(
                weight * pb_utils.get_input_tensor_by_name(request, name).as_numpy()[:, 1:2].astype(np.float64)
                for name, weight in self.weights.items()
            )
            tensor = pb_utils.Tensor("fraud_probability", vote.astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
