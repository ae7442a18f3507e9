"""Project 02 fixtures: Redis + llama.cpp's server + the chat API, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from study.local.streaming_llm_chat.stack import Stack, running_stack

from stack_fixtures import stack_fixtures

# Small limits so that overload is reachable with a handful of requests.
TEST_LIMITS = {
    "STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS": "2",
    "STREAMING_LLM_CHAT_MAX_WAITING": "2",
    "STREAMING_LLM_CHAT_QUEUE_TIMEOUT_S": "120",
    "STREAMING_LLM_CHAT_MAX_HISTORY_MESSAGES": "8",
}
# A prompt that keeps even a small model talking until max_tokens.
LONG_ANSWER = "Write a long story about a dragon who learns to bake bread. Use at least 800 words."


# The default local stack: llama.cpp's server.
local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, service_env=TEST_LIMITS, backend="llama.cpp"),
    client_timeout_s=120,
)


@pytest.fixture(scope="session")
def vllm_chat(tmp_path_factory, base_url_option) -> Iterator[Stack]:
    """The same service in front of vLLM's own OpenAI server (CPU build): the production server code."""
    if base_url_option:
        pytest.skip("needs the local stack, not --base-url")
    with running_stack(tmp_path_factory.mktemp("chat-vllm"), report=lambda _: None, backend="vllm") as stack:
        yield stack
