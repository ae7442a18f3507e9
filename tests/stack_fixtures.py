"""The fixtures every project's tests share, by the same names: ``local_stack`` (the running local
stack, or None under --base-url), ``stack`` (the same, skipping a test that needs local processes),
``base_url`` and ``client`` (an httpx client on it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest


def stack_fixtures(start: Callable[[Path], AbstractContextManager[Any]], client_timeout_s: float = 30):
    """The four fixtures, for a project whose local stack ``start(run_dir)`` runs (once per session).
    In a conftest: ``local_stack, stack, base_url, client = stack_fixtures(...)``."""

    @pytest.fixture(scope="session")
    def local_stack(tmp_path_factory: pytest.TempPathFactory, base_url_option: str | None) -> Iterator[Any]:
        if base_url_option:
            yield None
            return
        with start(tmp_path_factory.mktemp("stack")) as running:
            yield running

    @pytest.fixture(scope="session")
    def stack(local_stack: Any) -> Any:
        """For tests that need the local processes (a backend to stop, a log to read, a model file)."""
        if local_stack is None:
            pytest.skip("needs the local stack, not --base-url")
        return local_stack

    @pytest.fixture(scope="session")
    def base_url(local_stack: Any, base_url_option: str | None) -> str:
        return base_url_option or local_stack.url

    @pytest.fixture
    def client(base_url: str) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=base_url, timeout=client_timeout_s) as c:
            yield c

    return local_stack, stack, base_url, client
