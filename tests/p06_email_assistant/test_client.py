"""client.py, the code the project's page shows a reader, against the running service, with the
message file the README names."""

from __future__ import annotations

from reader_client import run_client
from study.paths import PROJECTS_DIR


def test_the_client_uploads_the_readme_s_message_and_prints_its_decision_log(base_url):
    done = run_client("06-email-assistant", str(PROJECTS_DIR / "06-email-assistant" / "example.eml"), "--url", base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("triage") and "'category': 'question'" in lines[0]
    assert any(line.startswith("state: ") for line in lines)
