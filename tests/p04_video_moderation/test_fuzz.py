"""Project 04's API under generated requests (tests/api_fuzzing.py): generated uploads are never
videos, so submissions are refused whatever the mode; job ids are random, so most lookups are 404."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url)
