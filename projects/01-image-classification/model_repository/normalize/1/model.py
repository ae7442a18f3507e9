"""Triton python-backend step: uint8 HWC crops in, the float32 CHW tensor EfficientNet-Lite0 takes
out, scaled exactly as the API's own preprocessing does (``to_model_input``)."""

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    # --8<-- [start:execute]
    def execute(self, requests):
        responses = []
        for request in requests:
            crops = pb_utils.get_input_tensor_by_name(request, "image").as_numpy()  # N, 224, 224, 3
            tensor = ((crops.astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2)
            responses.append(
                pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("input", np.ascontiguousarray(tensor))])
            )
        return responses

    # --8<-- [end:execute]
