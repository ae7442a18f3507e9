"""Bad input gets a clear problem+json answer, and nothing is translated or stored for it."""

from __future__ import annotations

import pytest

from problem_details import assert_problem


def test_an_unsupported_language_pair_lists_the_supported_ones(client):
    body = assert_problem(
        client.post("/v1/translate", json={"text": "Hello", "source": "en", "target": "fr"}),
        422,
        "unsupported-language-pair",
    )
    assert body["supported"] == ["en-es", "es-en"] and "en-fr" in body["detail"]
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.txt", "target": "de"}, content=b"Hi."),
        422,
        "unsupported-language-pair",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n\t "},
        {"segments": []},
        {"segments": ["", " "]},
        {"text": "Hello", "segments": ["Hello"]},
        {},
        {"text": "Hello\x00world"},
        {"segments": ["ok", "bell\x07"]},
        {"text": "Hello", "engine": "google"},
        {"text": ["not", "a", "string"]},
    ],
    ids=["empty", "blank", "no-segments", "blank-segments", "both", "neither", "nul", "control", "engine", "type"],
)
def test_malformed_translate_requests_are_refused(client, body):
    assert_problem(client.post("/v1/translate", json=body), 422, "validation-error")


def test_a_body_that_is_not_json_is_refused(client):
    answer = client.post("/v1/translate", content=b"\xff\xfe not json", headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422) and answer.headers["content-type"].startswith("application/problem+json")


def test_too_much_text_for_one_request_points_to_documents(client):
    body = assert_problem(client.post("/v1/translate", json={"text": "Word. " * 2000}), 413, "text-too-long")
    assert "/v1/documents" in body["detail"]
    assert_problem(client.post("/v1/translate", json={"segments": ["Hi"] * 101}), 413, "text-too-long")


@pytest.mark.parametrize("name", ["../etc/passwd.md", "a b.md", ".hidden.md", "x" * 200 + ".md"])
def test_a_file_name_that_is_not_plain_is_refused(client, name):
    answer = client.post("/v1/documents", params={"filename": name}, content=b"Hello.")
    assert answer.status_code == 422 and answer.json()["type"] in (
        "/problems/invalid-document-name",
        "/problems/validation-error",
    )


def test_a_format_the_service_does_not_read_is_415(client):
    assert_problem(
        client.post("/v1/documents", params={"filename": "report.pdf"}, content=b"%PDF-1.7"),
        415,
        "unsupported-media-type",
    )


def test_a_document_that_is_not_utf8_or_is_binary_is_refused(client):
    latin1 = "Canción del verano.".encode("latin-1")
    body = assert_problem(
        client.post("/v1/documents", params={"filename": "a.txt"}, content=latin1), 422, "unreadable-document"
    )
    assert "UTF-8" in body["detail"]
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.txt"}, content=b"ab\x00\x01cd"), 422, "unreadable-document"
    )
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.po"}, content=b'msgid "x"\nmsgstr'),
        422,
        "unreadable-document",
    )


def test_a_document_with_nothing_to_translate_is_refused(client):
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.md"}, content=b"```\ncode only\n```\n"),
        422,
        "empty-document",
    )


def test_an_oversized_document_is_refused_before_it_is_stored(client):
    # over the document limit (64 KiB in the tests): refused by the route; far over: by the middleware
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.txt"}, content=b"Hello. " * 10_000),
        413,
        "payload-too-large",
    )
    assert_problem(
        client.post("/v1/documents", params={"filename": "a.txt"}, content=b"x" * 300_000), 413, "payload-too-large"
    )


def test_unknown_and_malformed_job_ids(client):
    assert_problem(client.get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not-found")
    assert_problem(client.get("/v1/jobs/not-a-job"), 422, "validation-error")
