"""Shared fixtures: real services started once per test session, on free ports, and stopped after."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--base-url",
        default=None,
        help="Run the contract tests against an already deployed service (e.g. a compose stack on a "
        "GPU host) instead of the local stack; tests that need local files are skipped.",
    )


@pytest.fixture(scope="session")
def base_url_option(request: pytest.FixtureRequest) -> str | None:
    return request.config.getoption("--base-url")
