"""MiniLM's WordPiece tokenizer as a Triton python-backend model.

Each text is padded to the next multiple of 16 tokens (at most 128): the encoder's dynamic batcher
merges only requests of the same shape, and tweets fall into a few such lengths."""

from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils
from tokenizers import Tokenizer

BUCKET, MAX_TOKENS = 16, 128


class TritonPythonModel:
    def initialize(self, args):
        folder = Path(args["model_repository"]) / args["model_version"]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)

    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            encoded = self.tokenizer.encode_batch([t.decode("utf-8", errors="replace") for t in texts])
            width = min(MAX_TOKENS, -(-max(len(e.ids) for e in encoded) // BUCKET) * BUCKET)
            ids = np.zeros((len(encoded), width), dtype=np.int64)
            mask = np.zeros((len(encoded), width), dtype=np.int64)
            for row, e in enumerate(encoded):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1
            responses.append(
                pb_utils.InferenceResponse(
                    output_tensors=[pb_utils.Tensor("input_ids", ids), pb_utils.Tensor("attention_mask", mask)]
                )
            )
        return responses
