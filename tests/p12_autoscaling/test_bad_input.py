"""Malformed requests get a 4xx problem+json before any replica is asked (and before one is
started for them)."""

from __future__ import annotations

import pytest

from .conftest import HELLO


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"messages": []}, 422, "validation-error"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, 422, "validation-error"),
        ({"messages": [{"role": "user", "content": ""}]}, 422, "validation-error"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, 422, "validation-error"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100_000}, 422, "max-tokens-too-large"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 5}, 422, "validation-error"),
        ({"messages": [{"role": "user", "content": "hi"}] * 65}, 422, "validation-error"),
        ({"messages": [{"role": "user", "content": "x" * 9000}]}, 413, "text-too-long"),
        ({"prompt": "hi"}, 422, "validation-error"),
    ],
    ids=["no-messages", "bad-role", "empty-content", "zero-tokens", "too-many-tokens", "hot", "too-many-messages",
         "too-long", "completions-body"],
)  # fmt: skip
def test_a_bad_request_is_refused_with_a_problem(client, body, status, slug):
    answer = client.post("/v1/chat/completions", json=body)
    assert answer.status_code == status and answer.json()["type"] == f"/problems/{slug}", answer.text


def test_not_json_is_a_400(client):
    answer = client.post("/v1/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422) and answer.headers["content-type"].startswith("application/problem+json")


def test_a_body_over_the_limit_is_refused_before_it_is_read(client):
    answer = client.post("/v1/chat/completions", content=b"x" * 100_000, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"


def test_after_bad_requests_a_good_one_is_answered(client):
    assert client.post("/v1/chat/completions", json=HELLO).status_code == 200
