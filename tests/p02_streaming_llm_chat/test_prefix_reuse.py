"""The LLM servers' prefix caches: how much of a follow-up's prompt (system prompt + history + new
message) each server finds already computed in its KV cache, by its own account (llama.cpp's log,
vLLM's metrics). Token counts, never timings."""

from __future__ import annotations

import uuid

import httpx
from study.local.streaming_llm_chat import bench

from study.llm_local import PrefixReuse

VLLM_BLOCK_TOKENS = 128  # vLLM's CPU backend caches whole blocks of 128 tokens (16 on GPUs)


def follow_ups(stack) -> tuple[PrefixReuse, PrefixReuse, PrefixReuse]:
    """The benchmark's sequence, once: (follow-up right after its first turn, another conversation's
    turn, follow-up sent after that other turn)."""
    with httpx.Client(base_url=stack.url, timeout=300) as client:
        rows = bench.follow_ups(stack, client, uuid.uuid4().hex[:12], max_tokens=24)
    assert [row["case"] for row in rows] == [bench.CASES[0], bench.OTHER_TURN, bench.CASES[1]]
    return tuple(PrefixReuse(row["reused"], row["computed"]) for row in rows)


# --8<-- [start:prefix-test]
def test_llamacpp_keeps_one_sequence_so_another_conversation_evicts_the_history(stack):
    right_after, other_first, after_other = follow_ups(stack)

    system_prompt = other_first.reused  # all two conversations share (with the chat template)
    assert right_after.reused > system_prompt + 100  # + the first message and its answer
    assert after_other.reused == system_prompt  # the history was computed again
    assert after_other.computed > right_after.computed + 100


def test_vllm_keeps_blocks_from_many_conversations_so_the_history_survives(vllm_chat):
    right_after, other_first, after_other = follow_ups(vllm_chat)

    assert other_first.reused == 0  # the shared system prompt is shorter than one block
    assert right_after.reused >= VLLM_BLOCK_TOKENS and right_after.reused % VLLM_BLOCK_TOKENS == 0
    assert after_other.reused == right_after.reused  # another conversation evicted nothing


# --8<-- [end:prefix-test]
