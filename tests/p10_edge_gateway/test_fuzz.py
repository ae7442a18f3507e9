"""Project 10's API under generated requests, valid and broken (tests/api_fuzzing.py)."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url)
