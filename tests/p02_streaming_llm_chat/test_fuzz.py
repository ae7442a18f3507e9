"""Project 02's API under generated requests (tests/api_fuzzing.py). Sending a message costs a
whole LLM answer: it gets broken requests only, refused before the LLM is asked."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url, broken_only=frozenset({"POST /v1/conversations/{conversation_id}/messages"}))
