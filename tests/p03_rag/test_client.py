"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client


def test_the_client_prints_the_sources_then_the_answer(base_url):
    done = run_client("03-rag", "How does Triton's dynamic batching merge requests?", "--url", base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("[1] ") and ".md" in lines[0]  # the numbered sources come first
    assert lines[-1].startswith("[extracted; embed ")  # the service's default mode
