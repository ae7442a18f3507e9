"""VADER (vaderSentiment) as a Triton python-backend model: the lexicon model in production."""

import numpy as np
import triton_python_backend_utils as pb_utils
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


def label_of(compound):
    """VADER's published rule: compound >= 0.05 is positive, <= -0.05 negative, else neutral."""
    return 2 if compound >= 0.05 else 0 if compound <= -0.05 else 1


class TritonPythonModel:
    def initialize(self, args):
        self.analyzer = SentimentIntensityAnalyzer()

    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            polarity = [self.analyzer.polarity_scores(t.decode("utf-8", errors="replace")) for t in texts]
            scores = np.array([[p["neg"], p["neu"], p["pos"]] for p in polarity], dtype=np.float32)
            labels = np.array([[label_of(p["compound"])] for p in polarity], dtype=np.int64)
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor("SCORES", scores), pb_utils.Tensor("LABEL", labels)]
                )
            )
        return responses
