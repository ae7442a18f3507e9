"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client


def test_the_client_streams_an_answer_and_says_how_long_it_waited(base_url):
    done = run_client("12-autoscaling", "Say hello.", "--url", base_url, "--max-tokens", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr.startswith("first token after ") and " s, done after " in done.stderr


def test_the_client_reports_a_problem(base_url):
    done = run_client("12-autoscaling", "Say hello.", "--url", base_url, "--max-tokens", "100000")
    assert done.returncode != 0 and "422 /problems/max-tokens-too-large" in done.stderr
