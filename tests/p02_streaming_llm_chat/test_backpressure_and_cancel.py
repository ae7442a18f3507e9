"""Overload gets exactly the expected 429s; a client that leaves stops the generation upstream."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx

from p02_streaming_llm_chat.conftest import LONG_ANSWER, TEST_LIMITS
from p02_streaming_llm_chat.sse import read_events


async def open_streams(url: str, n: int, max_tokens: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        async def one(i: int) -> httpx.Response:
            response = await client.post(f"/v1/conversations/load-{uuid.uuid4().hex[:8]}-{i}/messages",
                                         json={"content": LONG_ANSWER, "max_tokens": max_tokens})
            await response.aread()
            return response
        return await asyncio.gather(*(one(i) for i in range(n)))


# --8<-- [start:overload-test]
def test_overload_yields_exactly_the_expected_429s(chat_stack):
    active, waiting = int(TEST_LIMITS["CHAT_MAX_CONCURRENT_STREAMS"]), int(TEST_LIMITS["CHAT_MAX_WAITING"])
    sent = active + waiting + 4
    responses = asyncio.run(open_streams(chat_stack.url, sent, max_tokens=128))
    rejected = [r for r in responses if r.status_code == 429]
    assert len(rejected) == sent - active - waiting
    assert sorted(r.status_code for r in responses) == [200] * (active + waiting) + [429] * len(rejected)
    for response in rejected:
        assert response.headers["Retry-After"] == "2"
        assert response.json()["type"] == "/problems/overloaded"
    metrics = httpx.get(f"{chat_stack.url}/metrics").text
    assert re.search(r'chat_rejected_requests_total\{reason="overloaded"\} [1-9]', metrics)
# --8<-- [end:overload-test]


def generated_tokens_of_last_request(llm_log: str) -> int:
    """llama.cpp logs, per finished request, 'eval time = ... / N runs': N tokens generated."""
    runs = re.findall(r"^llama_perf_context_print:\s+eval time =.*/\s+(\d+) runs", llm_log, re.MULTILINE)
    return int(runs[-1])


def test_client_disconnect_stops_generation_on_the_llm_server(chat_stack):
    conversation = f"leave-{uuid.uuid4().hex[:8]}"
    llm_log = chat_stack.llm.log_path
    log_before = llm_log.read_text()
    with httpx.Client(base_url=chat_stack.url, timeout=120) as client:
        with client.stream("POST", f"/v1/conversations/{conversation}/messages",
                           json={"content": LONG_ANSWER, "max_tokens": 500}) as response:
            seen = []
            for event, data in read_events(response):
                seen.append(data["text"])
                if len(seen) == 5:
                    break  # the client goes away after five pieces
    # The server logs the request's token count when it stops generating for it.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and llm_log.read_text().count("eval time") == log_before.count("eval time"):
        time.sleep(0.2)
    generated = generated_tokens_of_last_request(llm_log.read_text())
    assert generated < 250, f"the LLM server went on to generate {generated} of 500 tokens"

    history = httpx.get(f"{chat_stack.url}/v1/conversations/{conversation}").json()["messages"]
    assert history[-1]["role"] == "assistant" and history[-1]["interrupted"] is True
    assert history[-1]["content"].startswith("".join(seen))
    metrics = httpx.get(f"{chat_stack.url}/metrics").text
    assert re.search(r"chat_cancelled_generations_total [1-9]", metrics)


def test_history_survives_a_restart_of_the_service(chat_stack):
    conversation = f"restart-{uuid.uuid4().hex[:8]}"
    httpx.post(f"{chat_stack.url}/v1/conversations/{conversation}/messages",
               json={"content": "Remember: blue.", "max_tokens": 8, "stream": False}, timeout=120)
    before = httpx.get(f"{chat_stack.url}/v1/conversations/{conversation}").json()
    chat_stack.stop_service()
    chat_stack.start_service()
    assert httpx.get(f"{chat_stack.url}/v1/conversations/{conversation}").json() == before


def vllm_metric(stack, name: str) -> float:
    text = httpx.get(stack.llm.base_url.removesuffix("/v1") + "/metrics").text
    assert f"\n{name}" in text, f"vLLM exposes no {name}"  # a missing metric must not read as 0
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE))


def test_client_disconnect_stops_generation_on_vllm(vllm_chat):
    generated_before = vllm_metric(vllm_chat, "vllm:generation_tokens_total")
    with httpx.Client(base_url=vllm_chat.url, timeout=120) as client:
        with client.stream("POST", f"/v1/conversations/leave-{uuid.uuid4().hex[:8]}/messages",
                           json={"content": LONG_ANSWER, "max_tokens": 500}) as response:
            for count, _ in enumerate(read_events(response), start=1):
                if count == 5:
                    break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and vllm_metric(vllm_chat, "vllm:num_requests_running") > 0:
        time.sleep(0.2)
    assert vllm_metric(vllm_chat, "vllm:num_requests_running") == 0
    generated = vllm_metric(vllm_chat, "vllm:generation_tokens_total") - generated_before
    assert generated >= 5  # it did generate what the client read
    assert generated < 250, f"vLLM went on to generate {generated:.0f} of 500 tokens"
