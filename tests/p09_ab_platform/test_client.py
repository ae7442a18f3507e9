"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client

from .conftest import ab_test


def test_the_client_predicts_in_an_experiment_and_sends_the_truth(base_url, client):
    exp = ab_test(client)
    done = run_client(
        "09-ab-platform",
        "I hate waiting on hold",
        "--user",
        "reader-1",
        "--experiment",
        exp["id"],
        "--truth",
        "negative",
        "--url",
        base_url,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first.startswith("negative (model sentiment_") and "arm sentiment_" in first
    assert second == "feedback negative stored in database"
    report = run_client("09-ab-platform", "--report", exp["id"], "--url", base_url)
    assert report.returncode == 0 and f"{exp['id']}: ab" in report.stdout and "1 outcomes" in report.stdout


def test_the_client_reports_a_problem(base_url):
    done = run_client("09-ab-platform", "hello", "--experiment", "no-such-experiment", "--url", base_url)
    assert done.returncode != 0 and "404 /problems/unknown-experiment" in done.stderr
