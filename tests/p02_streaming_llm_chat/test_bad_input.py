"""Malformed, oversized and hostile requests: clear problem+json 4xx, and the service keeps serving."""

from __future__ import annotations

import pytest


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status and body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"content": ""},
        {"content": 42},
        {"content": "hi", "max_tokens": 0},
        {"content": "hi", "max_tokens": "lots"},
        {"content": "hi", "stream": "maybe"},
    ],
)
def test_invalid_message_bodies(client, payload):
    assert_problem(client.post("/v1/conversations/c-1/messages", json=payload), 422, "validation-error")


def test_max_tokens_over_the_limit(client):
    assert_problem(
        client.post("/v1/conversations/c-1/messages", json={"content": "hi", "max_tokens": 100000}),
        422,
        "max-tokens-too-large",
    )


def test_message_too_long(client):
    assert_problem(client.post("/v1/conversations/c-1/messages", json={"content": "x" * 5000}), 413, "text-too-long")


def test_body_over_the_limit_is_refused_before_it_is_read(client):
    assert_problem(
        client.post(
            "/v1/conversations/c-1/messages",
            content=b"{" + b" " * 200_000 + b"}",
            headers={"content-type": "application/json"},
        ),
        413,
        "payload-too-large",
    )


@pytest.mark.parametrize("conversation_id", ["has space", "semi;colon", "x" * 65, "ünïcode"])
def test_hostile_conversation_ids(client, conversation_id):
    assert_problem(
        client.post(f"/v1/conversations/{conversation_id}/messages", json={"content": "hi"}), 422, "validation-error"
    )


def test_not_json_and_wrong_content_type(client):
    assert_problem(
        client.post(
            "/v1/conversations/c-1/messages", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "validation-error",
    )
    assert_problem(
        client.post(
            "/v1/conversations/c-1/messages",
            content=b"content=hi",
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        422,
        "validation-error",
    )


def test_unknown_conversation_and_routes(client):
    assert_problem(client.get("/v1/conversations/never-seen-this-one"), 404, "not-found")
    assert_problem(client.delete("/v1/conversations/never-seen-this-one"), 404, "not-found")
    assert_problem(client.get("/v1/nothing"), 404, "not-found")
    assert_problem(client.put("/v1/conversations/c-1/messages"), 405, "method-not-allowed")


def test_prompt_injection_text_is_just_text(client):
    """Markup and control characters in a message are stored and returned verbatim, never executed."""
    content = "<script>alert(1)</script>\u0000 {{7*7}} \r\nevent: done\ndata: {}"
    response = client.post(
        "/v1/conversations/c-inject/messages", json={"content": content, "max_tokens": 4, "stream": False}
    )
    assert response.status_code == 200
    assert client.get("/v1/conversations/c-inject").json()["messages"][0]["content"] == content


def test_service_keeps_serving(client):
    client.post("/v1/conversations/c-1/messages", content=b"garbage", headers={"content-type": "application/json"})
    response = client.post("/v1/conversations/c-ok/messages", json={"content": "Hi", "max_tokens": 4, "stream": False})
    assert response.status_code == 200


def test_a_full_conversation_is_refused_and_nothing_is_dropped(stack):
    """The local test stack keeps 8 messages per conversation: four turns, then 422."""
    import httpx

    with httpx.Client(base_url=stack.url, timeout=120) as client:
        for turn in range(4):
            assert (
                client.post(
                    "/v1/conversations/c-full/messages",
                    json={"content": f"turn {turn}", "max_tokens": 4, "stream": False},
                ).status_code
                == 200
            )
        assert_problem(
            client.post("/v1/conversations/c-full/messages", json={"content": "one more"}), 422, "conversation-full"
        )
        messages = client.get("/v1/conversations/c-full").json()["messages"]
    assert [m["content"] for m in messages[::2]] == [f"turn {t}" for t in range(4)]
