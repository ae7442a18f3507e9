"""A voter made slow on purpose: sleeps DELAY_MS, then asks TARGET (BLS) and returns its answer."""

import json
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        parameters = json.loads(args["model_config"])["parameters"]
        self.delay_s = float(parameters["DELAY_MS"]["string_value"]) / 1000
        self.target = parameters["TARGET"]["string_value"]

    def execute(self, requests):
        time.sleep(self.delay_s)  # once per execution, however many requests the batcher merged
        responses = []
        for request in requests:
            features = pb_utils.get_input_tensor_by_name(request, "features")
            answer = pb_utils.InferenceRequest(
                model_name=self.target, requested_output_names=["probabilities"], inputs=[features]
            ).exec()
            if answer.has_error():
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(answer.error().message())))
                continue
            probabilities = pb_utils.get_output_tensor_by_name(answer, "probabilities")
            responses.append(pb_utils.InferenceResponse(output_tensors=[probabilities]))
        return responses
