"""Project 12's API under generated requests, broken ones only: a valid one costs a generated
answer (and may start a replica), so the project's own tests send those."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url, broken_only=frozenset({"POST /v1/chat/completions"}))
