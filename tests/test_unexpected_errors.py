"""An error no handler expected (a bug, a model that raises) is answered as a 500 problem by the
code every service shares (templates/service/.../problem_details.py), on a real uvicorn, and the
client's keep-alive connection survives it: the next request on it is answered. Before, Starlette's
handler answered and re-raised, uvicorn closed the connection, and a client that reused it lost a
request that had nothing to do with the bug (project 01's "model that raises" drill found it)."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI

from image_classification.api.problem_details import PROBLEM_JSON, install_generic_handlers
from study.processes import free_port


@pytest.fixture(scope="module")
def server_port():
    app = FastAPI()
    install_generic_handlers(app)

    @app.get("/bug")
    async def bug() -> dict:
        raise RuntimeError("a bug in the handler")

    @app.get("/fine")
    async def fine() -> dict:
        return {"fine": True}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, http="httptools", log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_an_unexpected_error_is_a_problem_and_the_connection_stays_open(server_port):
    connection = http.client.HTTPConnection("127.0.0.1", server_port, timeout=5)
    connection.request("GET", "/bug")
    answer = connection.getresponse()
    body = json.loads(answer.read())
    assert answer.status == 500 and answer.getheader("content-type") == PROBLEM_JSON
    assert body["type"] == "/problems/internal-error" and "a bug" not in body["detail"]  # no internals leak
    assert answer.getheader("connection") != "close"
    time.sleep(0.2)  # long enough for a close to reach the client, as it would between two requests
    connection.request("GET", "/fine")  # the same connection
    assert connection.getresponse().status == 200
    connection.close()
