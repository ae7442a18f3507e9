"""The fuzzer every project's test_fuzz.py runs (api_fuzzing.py) finds what it is there to find:
against a small service that crashes on some input and answers 422 as plain JSON, it fails and
names both."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api_fuzzing import fuzz
from polling import eventually
from study.processes import free_port


def flawed_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/items/{item_id}")
    def item(item_id: int, q: int = 0) -> dict:
        if q > 5:
            raise RuntimeError("a crash on input the code did not expect")
        return {"id": item_id}

    return app  # and FastAPI's own 422 for a non-integer id is application/json, not problem+json


def serves(url: str) -> bool:
    """The server answers 200; not yet listening is a "no", not an error (the thread binds late)."""
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def flawed_url() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(flawed_app(), port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    assert eventually(lambda: serves(f"{url}/openapi.json"), 30)
    yield url
    server.should_exit = True
    thread.join(10)


def test_the_fuzzer_finds_a_crash_and_a_422_that_is_not_a_problem(flawed_url):
    with pytest.raises(AssertionError) as found:
        fuzz(flawed_url)
    report = str(found.value)
    assert "Server error" in report and "[500]" in report
    assert "problem_json_for_client_errors" in report and "a 422 as 'application/json'" in report
