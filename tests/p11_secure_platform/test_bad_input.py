"""Malformed requests get a 4xx problem+json, are audited, and change nothing."""

from __future__ import annotations

import pytest

from .conftest import audited_denial, digits


@pytest.mark.parametrize(
    ("body", "slug"),
    [
        ({"inputs": [[1.0] * 63]}, "invalid-input"),
        ({"inputs": [[1.0] * 65]}, "invalid-input"),
        ({"inputs": [[1.0] * 64] * 65}, "invalid-input"),
        ({"inputs": []}, "validation-error"),
        ({"inputs": [[]]}, "validation-error"),
        ({"inputs": [["a"] * 64]}, "validation-error"),
        ({"inputs": [[1.0] * 64], "roles": ["tenant-admin"]}, "validation-error"),
        ({}, "validation-error"),
        ([1, 2], "validation-error"),
    ],
    ids=[
        "too-narrow",
        "too-wide",
        "too-many-rows",
        "no-rows",
        "empty-row",
        "not-numbers",
        "roles-in-body",
        "no-inputs",
        "not-an-object",
    ],
)
def test_a_malformed_prediction_is_refused(stack, as_client, body, slug):
    answer = as_client("acme-batch").post("/v1/models/digits/predict", json=body)
    assert answer.status_code == 422 and answer.json()["type"] == f"/problems/{slug}", answer.text
    audited_denial(stack, answer)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(stack, as_client, value):
    row = ", ".join(["0"] * 63 + [value])
    answer = as_client("acme-batch").post(
        "/v1/models/digits/predict", content=f'{{"inputs": [[{row}]]}}', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422 and answer.json()["type"] == "/problems/validation-error"


def test_a_body_that_is_not_json_is_a_400(as_client):
    answer = as_client("acme-batch").post(
        "/v1/models/digits/predict", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 422) and answer.headers["content-type"].startswith("application/problem+json")


def test_a_body_over_the_limit_is_refused_before_it_is_read(as_client):
    answer = as_client("acme-batch").post(
        "/v1/models/digits/predict", content=b"[" * 300_000, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"


@pytest.mark.parametrize("header", ["Basic YWNtZTpzZWNyZXQ=", "Bearer", "Bearer    x", "token abc"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_a_401(stack, base_url, header):
    import httpx

    answer = httpx.get(f"{base_url}/v1/models", headers={"Authorization": header}, timeout=10)
    assert answer.status_code == 401 and answer.json()["type"] == "/problems/unauthenticated"
    audited_denial(stack, answer)


def test_bad_queries_are_refused(as_client, stack):
    http = as_client("acme-admin")
    for path, params in [
        ("/v1/audit", {"limit": 0}),
        ("/v1/audit", {"after": -1}),
        ("/v1/predictions", {"limit": 101}),
    ]:
        answer = http.get(path, params=params)
        assert answer.status_code == 422, (path, params, answer.text)
    assert http.post("/v1/models/digits/predict", json={"inputs": digits(stack)}).status_code == 200
