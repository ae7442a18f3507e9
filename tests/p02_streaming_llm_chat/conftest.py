"""Project 02 fixtures: Redis + llama.cpp's server + the chat API, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from study.stacks.streaming_llm_chat import ChatStack, running_stack

# Small limits so that overload is reachable with a handful of requests.
TEST_LIMITS = {"CHAT_MAX_CONCURRENT_STREAMS": "2", "CHAT_MAX_WAITING": "2", "CHAT_QUEUE_TIMEOUT_S": "120",
               "CHAT_MAX_HISTORY_MESSAGES": "8"}
# A prompt that keeps even a small model talking until max_tokens.
LONG_ANSWER = "Write a long story about a dragon who learns to bake bread. Use at least 800 words."


@pytest.fixture(scope="session")
def local_chat(tmp_path_factory, base_url_option) -> Iterator[ChatStack | None]:
    """The default local stack: llama.cpp's server."""
    if base_url_option:
        yield None
        return
    with running_stack(tmp_path_factory.mktemp("chat"), report=lambda _: None, service_env=TEST_LIMITS,
                       backend="llama.cpp") as stack:
        yield stack


@pytest.fixture(scope="session")
def vllm_chat(tmp_path_factory, base_url_option) -> Iterator[ChatStack]:
    """The same service in front of vLLM's own OpenAI server (CPU build): the production server code."""
    if base_url_option:
        pytest.skip("needs the local stack, not --base-url")
    with running_stack(tmp_path_factory.mktemp("chat-vllm"), report=lambda _: None, backend="vllm") as stack:
        yield stack


@pytest.fixture(scope="session")
def chat_stack(local_chat) -> ChatStack:
    if local_chat is None:
        pytest.skip("needs the local stack, not --base-url")
    return local_chat


@pytest.fixture(scope="session")
def chat_url(local_chat, base_url_option) -> str:
    return base_url_option or local_chat.url


@pytest.fixture
def client(chat_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chat_url, timeout=120) as c:
        yield c
