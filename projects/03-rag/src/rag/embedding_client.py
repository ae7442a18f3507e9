"""The client for the embedding model on Triton: text in, unit-length 384-d vectors out.

Tokenisation happens here (the model's own tokenizer.json, Rust ``tokenizers``); the model on
Triton takes token ids and returns pooled, normalised sentence vectors. One async gRPC client is
shared by every request.
"""

from __future__ import annotations

import bisect

import grpc
import numpy as np
import tritonclient.grpc.aio as grpcclient
from tokenizers import Tokenizer
from tritonclient.utils import InferenceServerException

DIMENSIONS = 384
MAX_MODEL_TOKENS = 256  # all-MiniLM-L6-v2 was trained on at most 256 word pieces
# Triton's dynamic batcher merges only requests whose tensors have the same shape, so every call is
# padded up to one of a few lengths: requests of similar length can then share an execution.
LENGTH_BUCKETS = (16, 32, 64, 128, 256)
CHANNEL_ARGS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class EmbeddingUnavailable(RuntimeError):
    """Triton cannot serve the embedding model right now."""


class EmbeddingTokenizer:
    """The model's own tokenizer: counts and splits text for the chunker, builds the model's tensors."""

    def __init__(self, tokenizer_file: str):
        self._tokenizer = Tokenizer.from_file(tokenizer_file)
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_MODEL_TOKENS)
        self._counter = Tokenizer.from_file(tokenizer_file)  # counts whole texts: no truncation
        self._counter.no_padding()
        self._counter.no_truncation()

    def count(self, text: str) -> int:
        """Tokens in ``text``, without [CLS]/[SEP]."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def split(self, text: str, max_tokens: int) -> list[str]:
        """Cut text into pieces of at most ``max_tokens`` tokens, at token boundaries."""
        offsets = self._counter.encode(text, add_special_tokens=False).offsets
        starts = [offsets[i][0] for i in range(0, len(offsets), max_tokens)]
        return [text[a:b].strip() for a, b in zip(starts, [*starts[1:], len(text)], strict=False) if text[a:b].strip()]

    # --8<-- [start:tensors]
    def tensors(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, padded to the smallest bucket that holds the longest text."""
        encodings = self._tokenizer.encode_batch(texts)
        longest = max(len(e.ids) for e in encodings)
        length = LENGTH_BUCKETS[bisect.bisect_left(LENGTH_BUCKETS, longest)]
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return ids, mask

    # --8<-- [end:tensors]


class EmbeddingClient:
    def __init__(self, url: str, model: str, tokenizer_file: str, timeout_s: float, max_batch: int = 32):
        self.tokenizer = EmbeddingTokenizer(tokenizer_file)
        self._client = grpcclient.InferenceServerClient(url=url, channel_args=CHANNEL_ARGS)
        self.model, self._timeout_s, self.max_batch = model, timeout_s, max_batch

    async def close(self) -> None:
        await self._client.close()

    async def is_ready(self) -> bool:
        try:
            return await self._client.is_model_ready(self.model, client_timeout=2.0)
        except (InferenceServerException, grpc.aio.AioRpcError):
            return False

    # --8<-- [start:embed]
    async def embed(self, texts: list[str]) -> np.ndarray:
        """[len(texts), 384] float32, one row per text, each of length 1 (cosine = dot product).
        Texts are sent in order of length, so a batch pads its short texts to a short bucket."""
        order = np.argsort([self.tokenizer.count(text) for text in texts], kind="stable")
        vectors = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(texts), self.max_batch):
            rows = order[start : start + self.max_batch]
            vectors[rows] = await self._infer(*self.tokenizer.tensors([texts[i] for i in rows]))
        return vectors

    async def _infer(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        inputs = [
            grpcclient.InferInput("input_ids", list(ids.shape), "INT64"),
            grpcclient.InferInput("attention_mask", list(mask.shape), "INT64"),
        ]
        inputs[0].set_data_from_numpy(ids)
        inputs[1].set_data_from_numpy(mask)
        try:
            result = await self._client.infer(
                self.model,
                inputs,
                client_timeout=self._timeout_s,
                outputs=[grpcclient.InferRequestedOutput("sentence_embedding")],
            )
        except (InferenceServerException, grpc.aio.AioRpcError) as exc:
            raise EmbeddingUnavailable(str(exc)) from exc
        return result.as_numpy("sentence_embedding")

    # --8<-- [end:embed]
