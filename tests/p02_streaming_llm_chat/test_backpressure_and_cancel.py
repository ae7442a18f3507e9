"""Overload gets exactly the expected 429s; a client that leaves stops the generation upstream."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx

from p02_streaming_llm_chat.conftest import LONG_ANSWER, TEST_LIMITS
from polling import eventually
from sse_events import read_events
from study.metrics_page import metric_total


async def hold_stream(client: httpx.AsyncClient, statuses: list[int]) -> None:
    """A client that has been admitted and keeps its answer coming until it is cancelled."""
    async with client.stream(
        "POST",
        f"/v1/conversations/hold-{uuid.uuid4().hex[:8]}/messages",
        json={"content": LONG_ANSWER, "max_tokens": 500},
    ) as response:
        statuses.append(response.status_code)
        await asyncio.Event().wait()


# --8<-- [start:overload-test]
def test_overload_yields_exactly_the_expected_429s(stack):
    active, waiting = (
        int(TEST_LIMITS["STREAMING_LLM_CHAT_MAX_CONCURRENT_STREAMS"]),
        int(TEST_LIMITS["STREAMING_LLM_CHAT_MAX_WAITING"]),
    )
    extra = 4
    rejected_before = metric_total(
        f"{stack.url}/metrics", "streaming_llm_chat_rejected_requests_total", reason="overloaded"
    )

    async def scenario():
        async with httpx.AsyncClient(base_url=stack.url, timeout=300) as client:
            held_statuses: list[int] = []
            held = [asyncio.create_task(hold_stream(client, held_statuses)) for _ in range(active + waiting)]
            # Fill every slot and every place in line, as the service itself reports it ...
            deadline = time.monotonic() + 60
            while (
                metric_total(f"{stack.url}/metrics", "streaming_llm_chat_active_streams"),
                metric_total(f"{stack.url}/metrics", "streaming_llm_chat_queue_depth"),
            ) != (active, waiting):
                assert time.monotonic() < deadline, "the service never filled up"
                await asyncio.sleep(0.05)
            # ... then every further request is refused at once.
            refused = await asyncio.gather(
                *(client.post(f"/v1/conversations/extra-{i}/messages", json={"content": "hi"}) for i in range(extra))
            )
            for task in held:
                task.cancel()  # the held clients leave; their generations are cancelled upstream
            await asyncio.gather(*held, return_exceptions=True)
            return held_statuses, refused

    held_statuses, refused = asyncio.run(scenario())
    assert held_statuses == [200] * active  # the waiting ones never got their turn before leaving
    assert [r.status_code for r in refused] == [429] * extra
    for response in refused:
        assert response.headers["Retry-After"] == "2"
        assert response.json()["type"] == "/problems/overloaded"
    rejected = metric_total(f"{stack.url}/metrics", "streaming_llm_chat_rejected_requests_total", reason="overloaded")
    assert rejected - rejected_before == extra


# --8<-- [end:overload-test]


def log_since(path, mark: int) -> str:
    with path.open("rb") as log:
        log.seek(mark)
        return log.read().decode(errors="replace")


def test_client_disconnect_stops_generation_on_the_llm_server(stack):
    conversation = f"leave-{uuid.uuid4().hex[:8]}"
    llm, metrics = stack.llm, f"{stack.url}/metrics"
    mark = llm.log_path.stat().st_size
    cancelled_before = metric_total(metrics, "streaming_llm_chat_cancelled_generations_total")
    with httpx.Client(base_url=stack.url, timeout=120) as client:
        with client.stream(
            "POST", f"/v1/conversations/{conversation}/messages", json={"content": LONG_ANSWER, "max_tokens": 500}
        ) as response:
            seen = []
            for _, data in read_events(response):
                seen.append(data["text"])
                if len(seen) == 5:
                    break  # the client goes away after five pieces
    # llama.cpp's server notices the closed stream and says so ...
    assert eventually(lambda: "Disconnected from client" in log_since(llm.log_path, mark), 30), (
        "the LLM server never saw the client leave"
    )
    # ... and stops. It generates one request at a time, so a probe is answered only once the left
    # generation has ended; a generation that runs to its end prints its timings with the number of
    # tokens it made ("eval time = ... / N runs"), one that is stopped prints none.
    probe = httpx.post(
        f"{llm.base_url}/chat/completions",
        timeout=120,
        json={"model": "local", "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert probe.status_code == 200
    runs = [int(n) for n in re.findall(r"eval time = .*?/\s*(\d+) runs", log_since(llm.log_path, mark))]
    assert all(n <= 1 for n in runs), f"the LLM server went on generating after the client left: {runs} tokens"

    history = httpx.get(f"{stack.url}/v1/conversations/{conversation}").json()["messages"]
    assert history[-1]["role"] == "assistant" and history[-1]["interrupted"] is True
    assert history[-1]["content"].startswith("".join(seen))
    assert metric_total(metrics, "streaming_llm_chat_cancelled_generations_total") - cancelled_before == 1


def test_history_survives_a_restart_of_the_service(stack):
    conversation = f"restart-{uuid.uuid4().hex[:8]}"
    reply = httpx.post(
        f"{stack.url}/v1/conversations/{conversation}/messages",
        json={"content": "Remember: blue.", "max_tokens": 8, "stream": False},
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    before = httpx.get(f"{stack.url}/v1/conversations/{conversation}")
    assert before.status_code == 200
    assert [(m["role"], m["content"]) for m in before.json()["messages"]] == [
        ("user", "Remember: blue."),
        ("assistant", reply.json()["reply"]),
    ]
    stack.stop_service()
    stack.start_service()
    assert httpx.get(f"{stack.url}/v1/conversations/{conversation}").json() == before.json()


def vllm_metric(stack, name: str) -> float:
    return metric_total(stack.llm.base_url.removesuffix("/v1") + "/metrics", name)


def test_client_disconnect_stops_generation_on_vllm(vllm_chat):
    mark = vllm_chat.llm.log_path.stat().st_size
    generated_before = vllm_metric(vllm_chat, "vllm:generation_tokens_total")
    with httpx.Client(base_url=vllm_chat.url, timeout=120) as client:
        with client.stream(
            "POST",
            f"/v1/conversations/leave-{uuid.uuid4().hex[:8]}/messages",
            json={"content": LONG_ANSWER, "max_tokens": 500},
        ) as response:
            for count, _ in enumerate(read_events(response), start=1):
                if count == 5:
                    break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and vllm_metric(vllm_chat, "vllm:num_requests_running") > 0:
        time.sleep(0.2)
    assert vllm_metric(vllm_chat, "vllm:num_requests_running") == 0
    generated = vllm_metric(vllm_chat, "vllm:generation_tokens_total") - generated_before
    assert generated >= 5  # it did generate what the client read
    # The server's own account of why the request ended: aborted, not run to its 500 tokens.
    assert eventually(lambda: "Aborted request" in log_since(vllm_chat.llm.log_path, mark), 30), (
        f"vLLM did not abort the request ({generated:.0f} tokens generated)"
    )
