"""Malformed and hostile requests: 4xx problem+json, nothing scored."""

from __future__ import annotations

import json

import pytest

from problem_details import assert_problem

GOOD = {"Time": 10.0, **{f"V{i}": 0.0 for i in range(1, 29)}, "Amount": 12.5}


def raw(client, body: str):
    return client.post("/v1/score", content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(client, value):
    body = json.dumps(GOOD).replace('"V3": 0.0', f'"V3": {value}')
    assert_problem(raw(client, body), 422, "validation-error")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"V16": -1.32e228}, "V16"),  # finite, and infinity in the models' float32: found by the fuzzer
        ({"Amount": -1.0}, "Amount"),
        ({"V7": "high"}, "V7"),
        ({"Time": -5.0}, "Time"),
        ({"V29": 1.0}, "V29"),
    ],
)
def test_out_of_range_wrong_type_and_extra_fields_are_named(client, change, field):
    body = assert_problem(client.post("/v1/score", json={**GOOD, **change}), 422, "validation-error")
    assert field in body["detail"]


def test_a_missing_feature_is_named(client):
    body = assert_problem(client.post("/v1/score", json={k: v for k, v in GOOD.items() if k != "V12"}), 422)
    assert "V12" in body["detail"]


def test_a_batch_over_the_limit_is_refused_before_scoring(client):
    body = assert_problem(
        client.post("/v1/score/batch", json={"transactions": [GOOD] * 257}), 422, "too-many-transactions"
    )
    assert "256" in body["detail"]
    assert_problem(client.post("/v1/score/batch", json={"transactions": []}), 422, "validation-error")


def test_a_body_over_the_size_limit_is_413(client):
    assert_problem(raw(client, json.dumps({"transactions": [GOOD] * 6000})), 413, "payload-too-large")


def test_not_json_is_a_problem_too(client):
    assert raw(client, "{not json").status_code in (400, 422)
    assert_problem(raw(client, "{not json"), raw(client, "{not json").status_code)
