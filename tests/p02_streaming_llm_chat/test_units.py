"""Unit tests of the pure logic: admission control, context trimming, the tokenizer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from streaming_llm_chat.services.admission import Admission, Overloaded
from streaming_llm_chat.services.context import TEMPLATE_TOKENS_PER_MESSAGE, TokenCounter, build_prompt
from study.llm_local import smollm2_tokenizer


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter(str(smollm2_tokenizer(lambda _: None)))


def test_admission_admits_active_plus_waiting_and_refuses_the_rest():
    async def scenario():
        admission = Admission(max_active=2, max_waiting=3, timeout_s=5)
        release = asyncio.Event()
        outcomes = []

        async def request():
            try:
                async with admission.slot():
                    await release.wait()
                outcomes.append("served")
            except Overloaded:
                outcomes.append("refused")

        tasks = [asyncio.create_task(request()) for _ in range(9)]

        async def refusals(count: int) -> None:
            while outcomes.count("refused") < count:
                await asyncio.sleep(0)

        await asyncio.wait_for(refusals(4), timeout=10)  # the four beyond 2 + 3 are refused at once
        assert (admission.active, admission.waiting) == (2, 3)
        release.set()
        await asyncio.gather(*tasks)
        return outcomes

    outcomes = asyncio.run(scenario())
    assert outcomes.count("refused") == 4 and outcomes.count("served") == 5


def test_admission_wait_times_out():
    async def scenario():
        admission = Admission(max_active=1, max_waiting=1, timeout_s=0.1)
        await admission.acquire()
        with pytest.raises(Overloaded, match="within"):
            await admission.acquire()
        assert admission.waiting == 0

    asyncio.run(scenario())


def test_prompt_keeps_the_newest_messages_that_fit(counter):
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i} " + "word " * 50} for i in range(9)
    ]  # ends with a user message
    per_message = counter.count(history[0]["content"]) + TEMPLATE_TOKENS_PER_MESSAGE
    budget = counter.count("sys") + TEMPLATE_TOKENS_PER_MESSAGE + 3 * per_message + 2
    prompt = build_prompt("sys", history, counter, budget)
    assert prompt[0] == {"role": "system", "content": "sys"}
    assert [m["content"] for m in prompt[1:]] == [m["content"] for m in history[-3:]]
    assert prompt[1]["role"] == "user"  # never starts with an orphaned answer


def test_prompt_never_drops_the_new_message_even_over_budget(counter):
    prompt = build_prompt("sys", [{"role": "user", "content": "long " * 500}], counter, budget=10)
    assert prompt[-1]["content"].startswith("long")


def test_prompt_drops_an_answer_whose_question_was_cut(counter):
    history = [
        {"role": "user", "content": "q1 " * 100},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    budget = counter.count("sys") + 3 * TEMPLATE_TOKENS_PER_MESSAGE + counter.count("a1") + counter.count("q2") + 1
    assert [m["content"] for m in build_prompt("sys", history, counter, budget)] == ["sys", "q2"]


@pytest.mark.parametrize(
    "text", ["What is the capital of France?", "def f(x):\n    return x ** 2  # 🙂", "Ünïcödé, 数字 and   spaces."]
)
def test_token_counts_match_the_llm_servers_own_tokenizer(stack, counter, text):
    server_root = stack.llm.base_url.removesuffix("/v1")
    server = httpx.post(f"{server_root}/extras/tokenize", json={"input": text, "model": "local"}).json()
    assert counter.count(text) == len(server["tokens"])
