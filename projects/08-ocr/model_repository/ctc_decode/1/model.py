"""Greedy CTC decoding inside Triton (python backend): the most likely character at each time step,
repeats merged, blanks dropped; confidence is the mean probability of the characters kept.

Index 0 is CTC's blank, then the model's characters in order, then a space (PaddleOCR's layout)."""

from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        listed = (Path(args["model_repository"]) / args["model_version"] / "characters.txt").read_text("utf-8")
        self.characters = np.array(["", *listed.split("\n"), " "], dtype=object)

    def execute(self, requests):
        responses = []
        for request in requests:
            probabilities = pb_utils.get_input_tensor_by_name(request, "probabilities").as_numpy()
            best = probabilities.argmax(axis=2)  # [batch, steps]
            best_p = probabilities.max(axis=2)
            texts, confidences = [], []
            for steps, p in zip(best, best_p, strict=True):
                keep = np.ones(len(steps), dtype=bool)
                keep[1:] = steps[1:] != steps[:-1]
                keep &= steps != 0
                texts.append("".join(self.characters[steps[keep]]).encode("utf-8"))
                confidences.append(float(np.round(p[keep], 5).mean()) if keep.any() else 0.0)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[
                        pb_utils.Tensor("text", np.array(texts, dtype=object).reshape(-1, 1)),
                        pb_utils.Tensor("confidence", np.array(confidences, dtype=np.float32).reshape(-1, 1)),
                    ]
                )
            )
        return responses
