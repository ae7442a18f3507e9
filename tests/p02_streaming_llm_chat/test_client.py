"""client.py and client.mjs (fetch() streaming, as a browser page would), the code the project's page
and the streaming chapter show a reader, against the running service."""

from __future__ import annotations

import uuid

import httpx
import pytest

from reader_client import run_client, run_js_client


@pytest.mark.parametrize("run", [run_client, run_js_client], ids=["client.py", "client.mjs"])
def test_the_client_prints_the_answer_as_it_streams_then_the_usage(base_url, run):
    conversation = f"client-{uuid.uuid4().hex[:8]}"
    done = run(
        "02-streaming-llm-chat",
        "What is the capital of France?",
        "--conversation",
        conversation,
        "--max-tokens",
        "32",
        "--url",
        base_url,
    )
    assert done.returncode == 0, done.stderr
    answer, usage = done.stdout.rstrip("\n").rsplit("\n", 1)
    assert answer.strip() and usage.startswith("[") and "tokens, first after" in usage
    stored = httpx.get(f"{base_url}/v1/conversations/{conversation}").json()["messages"]
    assert stored[-1]["role"] == "assistant" and stored[-1]["content"] == answer  # what it printed is the turn
