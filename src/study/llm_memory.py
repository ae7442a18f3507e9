"""How much memory a language model needs: its weights, and a KV cache that grows with every token
of every sequence in flight. The shape comes from the model's own GGUF metadata (or a published
config); the tests check these numbers against what llama.cpp and vLLM report for the same model."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGUFReader

GIB = 1024**3
MIB = 1024**2


# --8<-- [start:shape]
@dataclass(frozen=True)
class ModelShape:
    layers: int
    kv_heads: int  # grouped-query attention: fewer K/V heads than query heads
    head_dim: int
    parameters: int

    def weights_bytes(self, bits_per_weight: float) -> int:
        """16 for bf16/fp16, 8 for int8/fp8, about 4.5-6 for 4-bit GGUF quantizations."""
        return math.ceil(self.parameters * bits_per_weight / 8)

    def kv_bytes_per_token(self, bytes_per_value: int = 2) -> int:
        """One key and one value vector per layer and per K/V head, for every token kept."""
        return 2 * self.layers * self.kv_heads * self.head_dim * bytes_per_value

    def kv_cache_bytes(self, tokens: int, bytes_per_value: int = 2) -> int:
        return tokens * self.kv_bytes_per_token(bytes_per_value)

    def tokens_that_fit(self, kv_memory_bytes: int, bytes_per_value: int = 2, block_tokens: int = 1) -> int:
        """How many tokens of cache fit, counted in whole blocks (vLLM pages the cache in blocks)."""
        tokens = kv_memory_bytes // self.kv_bytes_per_token(bytes_per_value)
        return tokens // block_tokens * block_tokens

    # --8<-- [end:shape]

    # --8<-- [start:decode]
    def decode_step_bytes(self, sequences: int, context_tokens: int, bits_per_weight: float = 16) -> int:
        """What one decoding step reads from memory: every weight once, shared by the whole batch,
        and the KV cache of every token of every sequence in it, which is not shared."""
        return self.weights_bytes(bits_per_weight) + self.kv_cache_bytes(sequences * context_tokens)

    def decode_step_seconds(self, sequences: int, context_tokens: int, bandwidth_bytes_s: float) -> float:
        """The step's floor when memory bandwidth is the limit (decoding, until the batch is large)."""
        return self.decode_step_bytes(sequences, context_tokens) / bandwidth_bytes_s

    # --8<-- [end:decode]

    @classmethod
    def from_gguf(cls, path: Path) -> ModelShape:
        reader = GGUFReader(str(path))

        def value(key: str) -> int:
            field = reader.fields[key]
            return int(field.parts[field.data[0]][0])

        arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
        heads = value(f"{arch}.attention.head_count")
        return cls(
            layers=value(f"{arch}.block_count"),
            kv_heads=value(f"{arch}.attention.head_count_kv"),
            head_dim=value(f"{arch}.embedding_length") // heads,
            parameters=sum(int(np.prod(tensor.shape)) for tensor in reader.tensors),
        )
