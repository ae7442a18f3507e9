"""The LLM server dies, Redis dies: 503 with Retry-After, then recovery without restarting the API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from study.local.streaming_llm_chat.stack import Stack, running_stack

from problem_details import assert_backend_unavailable


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, base_url_option) -> Iterator[Stack]:
    if base_url_option:
        pytest.skip("kills local backend processes")
    with running_stack(tmp_path_factory.mktemp("chat-faults"), report=lambda _: None) as stack:
        yield stack


def send(url: str, conversation: str = "faults") -> httpx.Response:
    return httpx.post(
        f"{url}/v1/conversations/{conversation}/messages",
        json={"content": "Hello", "max_tokens": 8, "stream": False},
        timeout=60,
    )


def recovers(url: str, timeout_s: float = 60) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if send(url).status_code == 200:
            return True
        time.sleep(0.5)
    return False


def test_llm_server_down_gives_503_and_recovers(own_stack):
    assert send(own_stack.url).status_code == 200
    own_stack.llm.kill()
    assert_backend_unavailable(send(own_stack.url), "llm", retry_after_s=2)
    ready = httpx.get(f"{own_stack.url}/health/ready")
    assert ready.status_code == 503 and "LLM server" in ready.json()["detail"]
    # The user's message was accepted before the LLM failed: it is kept, not lost.
    assert httpx.get(f"{own_stack.url}/v1/conversations/faults").json()["messages"][-1]["content"] == "Hello"
    own_stack.llm.start()
    assert recovers(own_stack.url)


def test_redis_down_gives_503_and_recovers(own_stack):
    own_stack.redis.kill()
    assert_backend_unavailable(send(own_stack.url, "redis-gone"), "redis", retry_after_s=2)
    assert_backend_unavailable(httpx.get(f"{own_stack.url}/v1/conversations/redis-gone"), "redis", retry_after_s=2)
    assert httpx.get(f"{own_stack.url}/health/live").status_code == 200
    own_stack.redis.start()  # same port, empty: Redis here keeps nothing on disk
    assert recovers(own_stack.url)
