"""Project 06's API under generated requests, valid and broken (tests/api_fuzzing.py).

POST /v1/messages takes raw RFC 5322 bytes, which Schemathesis cannot generate from a schema (and
every valid message would cost the worker a run of the LLM): its broken input is covered by
test_bad_input.py and, for the parser, by the property test in test_units.py."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url, skip=frozenset({"POST /v1/messages"}))
