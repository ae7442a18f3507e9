"""The memory arithmetic of the course (study/llm_memory.py) against what the two real LLM servers
report for the same model: llama.cpp's KV buffer and parameter count, vLLM's KV cache capacity in
tokens and its maximum concurrency. Then the same arithmetic for a production-sized model."""

from __future__ import annotations

import re

import pytest

from study.llm_local import llamacpp_environment, smollm2_gguf
from study.llm_memory import GIB, MIB, ModelShape


@pytest.fixture(scope="module")
def smollm2() -> ModelShape:
    return ModelShape.from_gguf(smollm2_gguf(llamacpp_environment()))


def logged(pattern: str, log: str) -> re.Match:
    found = re.search(pattern, log)
    assert found, f"not in the server's log: {pattern}"
    return found


def test_shape_read_from_the_gguf_file(smollm2):
    assert (smollm2.layers, smollm2.kv_heads, smollm2.head_dim) == (30, 3, 64)


# --8<-- [start:llamacpp]
def test_llamacpp_reports_the_kv_cache_and_weights_we_compute(smollm2, stack):
    log = stack.llm.log_path.read_text(errors="replace")
    n_ctx = int(logged(r"llama_context: n_ctx\s+= (\d+)", log).group(1))
    kv_mib = float(logged(r"KV buffer size =\s+([\d.]+) MiB", log).group(1))
    assert smollm2.kv_cache_bytes(n_ctx, bytes_per_value=2) / MIB == kv_mib  # f16 K and V: 90.00 MiB

    params_m = float(logged(r"model params\s+= ([\d.]+) M", log).group(1))
    assert round(smollm2.parameters / 1e6, 2) == params_m
    file_mib, bits = map(float, logged(r"file size\s+= ([\d.]+) MiB \(([\d.]+) BPW\)", log).groups())
    assert smollm2.weights_bytes(bits) / MIB == pytest.approx(file_mib, rel=0.002)


# --8<-- [end:llamacpp]


# --8<-- [start:vllm]
def test_vllm_reports_the_kv_capacity_we_compute(smollm2, vllm_chat):
    log = vllm_chat.llm.log_path.read_text(errors="replace")
    kv_gib = float(logged(r"Explicitly set \(([\d.]+)/[\d.]+\) GiB for KV cache", log).group(1))
    tokens, concurrency = logged(
        r"KV cache size: ([\d,]+) tokens, Maximum concurrency for 4,096 tokens "
        r"per request: ([\d.]+)x",
        log,
    ).groups()
    expected = smollm2.tokens_that_fit(int(kv_gib * GIB), bytes_per_value=4, block_tokens=16)  # float32
    assert expected == int(tokens.replace(",", ""))  # 46,592 tokens
    assert round(expected / 4096, 2) == float(concurrency)  # 11.38 sequences of 4,096 tokens


# --8<-- [end:vllm]


# --8<-- [start:production]
def test_a_production_sized_model_on_one_80_gb_gpu():
    """Llama 3.1 8B's published shape (32 layers, 8 K/V heads of 128), bf16, one 80 GB GPU at vLLM's
    default gpu_memory_utilization of 0.9, before activations and CUDA graphs take their share."""
    llama_8b = ModelShape(layers=32, kv_heads=8, head_dim=128, parameters=8_030_000_000)
    weights = llama_8b.weights_bytes(16)
    assert round(weights / 1e9, 1) == 16.1
    assert llama_8b.kv_bytes_per_token() == 128 * 1024  # 128 KiB per token
    assert llama_8b.kv_cache_bytes(8192) == 1 * GIB  # one full 8k-token conversation: 1 GiB
    kv_budget = int(0.9 * 80e9) - weights
    tokens = llama_8b.tokens_that_fit(kv_budget, block_tokens=16)
    assert 420_000 < tokens < 430_000 and tokens // 8192 == 52  # about 52 full-length sequences at once


# --8<-- [end:production]


# --8<-- [start:decode]
def test_a_decode_step_is_nearly_free_to_batch_only_while_the_cache_is_small_next_to_the_weights():
    """Llama 3.1 8B in bf16 on an H100 SXM (3.35 TB/s): each step reads the 16 GB of weights once for
    the whole batch, but every sequence's own KV cache as well."""
    llama_8b = ModelShape(layers=32, kv_heads=8, head_dim=128, parameters=8_030_000_000)
    h100 = 3.35e12  # bytes/s

    def step_ms(sequences: int, context: int) -> float:
        return 1000 * llama_8b.decode_step_seconds(sequences, context, h100)

    assert round(step_ms(1, 500), 1) == 4.8  # the weights dominate
    assert round(step_ms(50, 500), 1) == 5.8  # fifty short sequences: 20 % more time, 50 times the tokens
    assert round(step_ms(50, 8192), 1) == 20.8  # fifty 8k sequences read 50 GiB of cache: 4.3 times as long
    assert llama_8b.kv_cache_bytes(50 * 8192) == 50 * GIB


# --8<-- [end:decode]
