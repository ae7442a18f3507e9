"""Routing turns over several LLM server replicas: two real llama.cpp servers behind one service.

Affinity keeps a conversation on one replica, so that replica's prefix cache holds its history;
a replica that cannot be reached is skipped before the first token, so losing one costs no request.
Which replica answered is read from the replicas' own logs and the service's metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from study.local.streaming_llm_chat.bench import FIRST_MESSAGE, FOLLOW_UP
from study.local.streaming_llm_chat.stack import Stack, running_stack

from polling import eventually
from streaming_llm_chat.llm_client import LLMClient
from streaming_llm_chat.services.routing import LLMRouter
from streaming_llm_chat.services.tenants import PUBLIC, conversation_key
from study.metrics_page import by_label

URLS = [f"http://10.0.0.{i}:8000/v1" for i in range(1, 5)]


def router(urls: list[str], policy: str = "affinity") -> LLMRouter:
    return LLMRouter([LLMClient(url, "local", 5.0) for url in urls], policy)


def first_choice(r: LLMRouter, conversation: str) -> str:
    return r.order(conversation)[0].base_url


# Unit tests of the order: no server needed.


def test_affinity_gives_a_conversation_the_same_replica_every_time_and_in_every_instance():
    one, other = router(URLS), router(list(reversed(URLS)))  # another instance, replicas listed otherwise
    for i in range(50):
        assert first_choice(one, f"c{i}") == first_choice(one, f"c{i}") == first_choice(other, f"c{i}")


def test_affinity_spreads_conversations_and_a_replica_leaving_moves_only_its_own():
    four, three = router(URLS), router(URLS[:3])  # the fourth replica leaves
    before = {f"c{i}": first_choice(four, f"c{i}") for i in range(400)}
    assert all(60 < list(before.values()).count(url) < 140 for url in URLS)  # about a quarter each
    after = {c: first_choice(three, c) for c in before}
    moved = {c for c in before if before[c] != after[c]}
    assert moved == {c for c in before if before[c] == URLS[3]}


def test_round_robin_rotates_the_first_choice():
    r = router(URLS[:3], "round-robin")
    assert [first_choice(r, "same") for _ in range(6)] == URLS[:3] * 2


# With two real replicas.


@pytest.fixture(scope="module")
def two_replicas(tmp_path_factory, base_url_option) -> Iterator[Stack]:
    if base_url_option:
        pytest.skip("starts its own replicas")
    with running_stack(tmp_path_factory.mktemp("chat-routing"), report=lambda _: None, replicas=2) as stack:
        yield stack


def say(stack: Stack, conversation: str, content: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/v1/conversations/{conversation}/messages",
        timeout=120,
        json={"content": content, "stream": False, "max_tokens": 24},
    )


def conversation_on(stack: Stack, replica: int) -> str:
    """A new conversation id that affinity sends to ``stack.replicas[replica]`` first (the router
    sees the conversation's key within its tenant; with no tenants configured, 'public')."""
    r = router([llm.base_url for llm in stack.replicas])
    while True:
        conversation = f"r-{uuid.uuid4().hex[:12]}"
        if first_choice(r, conversation_key(PUBLIC, conversation)) == stack.replicas[replica].base_url:
            return conversation


def by_replica(stack: Stack, counter: str) -> dict[str, float]:
    return by_label(f"{stack.url}/metrics", counter, "replica")


def turns_by_replica(stack: Stack) -> dict[str, float]:
    return by_replica(stack, "streaming_llm_chat_llm_requests_total")


def failovers(stack: Stack) -> dict[str, float]:
    return by_replica(stack, "streaming_llm_chat_llm_failovers_total")


# --8<-- [start:affinity-test]
def test_interleaved_conversations_each_keep_their_replica_and_their_prefix(two_replicas):
    stack = two_replicas
    a, b = conversation_on(stack, 0), conversation_on(stack, 1)
    for conversation in (a, b):
        assert say(stack, conversation, FIRST_MESSAGE.format(customer=conversation)).status_code == 200

    marks = [replica.prefix_cache_mark() for replica in stack.replicas]
    for conversation in (a, b):  # with one replica, b's turn would have evicted a's history
        assert say(stack, conversation, FOLLOW_UP).status_code == 200

    for replica, mark in zip(stack.replicas, marks, strict=False):
        follow_up = replica.prefix_reuse_since(mark)
        assert follow_up.reused > 100  # its own conversation's history, not only the system prompt
        # the new question and little else: most of the prompt came from the cache (evicted, the
        # history would be computed again and outweigh the system prompt that is still cached)
        assert 2 * follow_up.computed < follow_up.reused


# --8<-- [end:affinity-test]


# --8<-- [start:failover-test]
def test_a_dead_replica_is_skipped_and_its_conversations_move_without_an_error(two_replicas):
    stack = two_replicas
    pinned = conversation_on(stack, 0)
    stack.replicas[0].kill()
    try:
        before = turns_by_replica(stack).get(stack.replicas[1].base_url, 0)
        for content in ("Hello", FOLLOW_UP):
            assert say(stack, pinned, content).status_code == 200
        assert turns_by_replica(stack)[stack.replicas[1].base_url] == before + 2
        assert failovers(stack)[stack.replicas[0].base_url] >= 2
        assert httpx.get(f"{stack.url}/health/ready").status_code == 200  # one replica is enough

        stack.replicas[1].kill()
        response = say(stack, pinned, "Anyone there?")
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert httpx.get(f"{stack.url}/health/ready").status_code == 503
    finally:
        for replica in stack.replicas:
            if replica.process is None or replica.process.proc.poll() is not None:
                replica.start()
    assert eventually(lambda: say(stack, pinned, "Back?").status_code == 200, timeout_s=30)


# --8<-- [end:failover-test]
