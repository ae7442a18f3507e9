"""Black-box contract of the chat API, passed unchanged in front of llama.cpp and of vLLM
(also runnable with --base-url against a deployed stack)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from study.local.streaming_llm_chat.stack import Stack

from p02_streaming_llm_chat.conftest import LONG_ANSWER
from polling import eventually
from sse_events import read_events
from study.llm_local import LocalVllm
from study.metrics_page import metric_total


@pytest.fixture(scope="module", params=["llama.cpp", "vllm"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def client(backend, request, base_url_option) -> Iterator[httpx.Client]:
    if base_url_option:
        if backend != "llama.cpp":
            pytest.skip("--base-url: the deployed stack's own backend is tested once")
        url = base_url_option
    else:
        url = request.getfixturevalue("local_stack" if backend == "llama.cpp" else "vllm_chat").url
    with httpx.Client(base_url=url, timeout=120) as c:
        yield c


def new_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def test_answer_streams_token_by_token_then_done(client):
    with client.stream(
        "POST",
        f"/v1/conversations/{new_id()}/messages",
        json={"content": "What is the capital of France?", "max_tokens": 48},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        arrivals = list(read_events(response))
    kinds = [kind for kind, _ in arrivals]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    assert kinds.count("token") >= 2
    done = arrivals[-1][1]
    assert done["usage"]["completion_tokens"] >= 1
    assert done["timings"]["ttft_ms"] > 0
    assert done["finish_reason"] in {"stop", "length"}


def upstream_generating(stack: Stack, log_mark: int) -> bool:
    """Whether the LLM server is still generating, by its own account: vLLM's gauge of running
    requests; llama.cpp prints its timings (``eval time = ... runs``) when a generation ends."""
    if isinstance(stack.llm, LocalVllm):
        return metric_total(stack.llm.base_url.removesuffix("/v1") + "/metrics", "vllm:num_requests_running") > 0
    with stack.llm.log_path.open("rb") as log:
        log.seek(log_mark)
        text = log.read().decode(errors="replace")
    return "Llama.generate" in text and re.search(r"eval time = .* runs", text) is None


def test_the_first_token_leaves_while_the_llm_server_is_still_generating(backend, request, base_url_option):
    """Streamed, not buffered: proven on the server side, since the client's own clock always
    increases whether or not the service held the answer back."""
    if base_url_option:
        pytest.skip("reads the local LLM server's state")
    stack = request.getfixturevalue("local_stack" if backend == "llama.cpp" else "vllm_chat")
    mark = stack.llm.log_path.stat().st_size
    with (
        httpx.Client(base_url=stack.url, timeout=120) as client,
        client.stream(
            "POST", f"/v1/conversations/{new_id()}/messages", json={"content": LONG_ANSWER, "max_tokens": 200}
        ) as response,
    ):
        events = read_events(response)
        assert next(events)[0] == "token"
        generating_at_first_token = upstream_generating(stack, mark)
        rest = [kind for kind, _ in events]
    assert generating_at_first_token, "the first token reached the client after the generation had ended"
    assert rest[-1] == "done" and rest.count("token") >= 20
    assert eventually(lambda: not upstream_generating(stack, mark), 30)  # the signal does change


def test_non_streaming_reply(client):
    response = client.post(
        f"/v1/conversations/{new_id()}/messages", json={"content": "Say hello.", "max_tokens": 16, "stream": False}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["reply"].strip()
    assert body["usage"]["completion_tokens"] >= 1
    assert body["finish_reason"] in {"stop", "length"}


def test_history_round_trips_and_delete_removes_it(client):
    conversation = new_id()
    first = client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": "My name is Ada.", "max_tokens": 16, "stream": False},
    ).json()
    client.post(
        f"/v1/conversations/{conversation}/messages",
        json={"content": "What is my name?", "max_tokens": 16, "stream": False},
    )
    messages = client.get(f"/v1/conversations/{conversation}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["content"] == "My name is Ada."
    assert messages[1]["content"] == first["reply"]
    assert client.delete(f"/v1/conversations/{conversation}").status_code == 204
    assert client.get(f"/v1/conversations/{conversation}").status_code == 404


def test_concurrent_messages_to_one_conversation_are_serialised(client):
    import asyncio

    conversation = new_id()
    questions = [f"Question number {i}: say the number {i}." for i in range(3)]

    async def send_all():
        async with httpx.AsyncClient(base_url=client.base_url, timeout=120) as ac:
            return await asyncio.gather(
                *(
                    ac.post(
                        f"/v1/conversations/{conversation}/messages",
                        json={"content": q, "max_tokens": 12, "stream": False},
                    )
                    for q in questions
                )
            )

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200, 200, 200]
    messages = client.get(f"/v1/conversations/{conversation}").json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3  # never two users in a row
    assert sorted(m["content"] for m in messages[::2]) == sorted(questions)  # none lost
    replies = {r.json()["reply"] for r in responses}
    assert {m["content"] for m in messages[1::2]} == replies


def test_health_and_metrics(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ready"}
    metrics = str(client.base_url.join("/metrics"))
    names = (
        "streaming_llm_chat_time_to_first_token_seconds_count",
        "streaming_llm_chat_inter_token_latency_seconds_count",
        "streaming_llm_chat_tokens_generated_total",
        "http_request_duration_seconds_count",
    )
    before = {name: metric_total(metrics, name) for name in names}
    reply = client.post(
        f"/v1/conversations/{new_id()}/messages", json={"content": "Hi", "max_tokens": 8, "stream": False}
    ).json()
    after = {name: metric_total(metrics, name) for name in names}
    generated = reply["usage"]["completion_tokens"]
    assert (
        after["streaming_llm_chat_time_to_first_token_seconds_count"]
        - before["streaming_llm_chat_time_to_first_token_seconds_count"]
        == 1
    )
    assert (
        after["streaming_llm_chat_tokens_generated_total"] - before["streaming_llm_chat_tokens_generated_total"]
        == generated
    )
    if generated >= 2:  # a gap between two pieces of the answer
        assert (
            after["streaming_llm_chat_inter_token_latency_seconds_count"]
            > before["streaming_llm_chat_inter_token_latency_seconds_count"]
        )
    assert after["http_request_duration_seconds_count"] > before["http_request_duration_seconds_count"]
    # The turn is over: it gave its generation slot back and nobody waits.
    assert (
        metric_total(metrics, "streaming_llm_chat_active_streams"),
        metric_total(metrics, "streaming_llm_chat_queue_depth"),
    ) == (0, 0)


def test_openapi_lists_the_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/conversations/{conversation_id}/messages", "/v1/conversations/{conversation_id}"} <= set(paths)


def test_vllm_reports_usage_inside_the_stream(vllm_chat):
    """vLLM sends a usage block in streamed responses (llama.cpp's server does not: the service
    counts with the tokenizer there); the service passes the server's numbers on."""
    with httpx.Client(base_url=vllm_chat.url, timeout=120) as c:
        with c.stream(
            "POST", f"/v1/conversations/{new_id()}/messages", json={"content": "Say hello.", "max_tokens": 16}
        ) as response:
            done = next(data for event, data in read_events(response) if event == "done")
    assert done["usage"]["source"] == "llm-server"
    assert done["usage"]["prompt_tokens"] > 0 and done["usage"]["completion_tokens"] > 0
