"""The API as its users see it: OpenAI-compatible chat completions, whole or streamed as
Server-Sent Events, and the health routes."""

from __future__ import annotations

import json

import httpx

from .conftest import HELLO


def test_a_whole_answer_is_an_openai_chat_completion(stack, client):
    answer = client.post("/v1/chat/completions", json=HELLO)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "chat.completion" and body["model"] == stack.replica.model
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["message"]["content"]
    assert 0 < body["usage"]["completion_tokens"] <= HELLO["max_tokens"]
    assert float(answer.headers["X-Queue-Wait"]) >= 0


def test_a_streamed_answer_is_server_sent_events_ending_with_done(base_url):
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={**HELLO, "stream": True}, timeout=300) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.strip()


def test_fields_openai_clients_send_are_accepted(client):
    answer = client.post("/v1/chat/completions", json={**HELLO, "model": "anything", "user": "u-1", "top_p": 0.9})
    assert answer.status_code == 200


def test_health(client):
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ok", "serve": True}


def test_metrics_show_the_queue_waits_and_refusals(client):
    client.post("/v1/chat/completions", json=HELLO)
    text = client.get("/metrics").text
    for name in ("autoscaling_requests_waiting", "autoscaling_requests_in_flight",
                 "autoscaling_time_to_first_byte_seconds_count", "autoscaling_cold_waits_total"):  # fmt: skip
        assert name in text
