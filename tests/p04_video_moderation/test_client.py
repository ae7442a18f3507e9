"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client


def test_the_client_follows_a_job_to_its_end(base_url, videos):
    done = run_client("04-video-moderation", str(videos["short"]), "--url", base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("job ") and lines[0].endswith(" queued")
    assert any(line.split()[:2] == ["succeeded", "100%"] for line in lines)
    assert lines[-1] == "nothing flagged" or lines[-1].startswith("flagged ")
