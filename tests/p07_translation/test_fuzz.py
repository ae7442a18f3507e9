"""Project 07's API under generated requests, valid and broken (tests/api_fuzzing.py). Every valid
translation or document would cost an engine run: those two operations get broken requests only;
test_contract.py and test_bad_input.py send the valid and the hostile ones by hand."""

from __future__ import annotations

from api_fuzzing import fuzz


def test_api_fuzzing(base_url):
    fuzz(base_url, broken_only=frozenset({"POST /v1/translate", "POST /v1/documents"}))
