"""client.py, the code the project's page shows a reader, against the running service: a short
text, then the example file the README names, as a job."""

from __future__ import annotations

from reader_client import run_client
from study.paths import PROJECTS_DIR


def test_the_client_translates_a_text_and_says_which_engine_did(base_url):
    done = run_client("07-translation", "Save. The request timed out after five seconds.", "--url", base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all(line.endswith("]") for line in lines)


def test_the_client_translates_the_example_file_as_a_job(base_url):
    example = PROJECTS_DIR / "07-translation" / "example.md"
    done = run_client("07-translation", "--file", str(example), "--engine", "apertium", "--url", base_url)
    assert done.returncode == 0, done.stderr
    assert "done: 8/8 segments" in done.stdout
    translated = done.stdout.split("segments\n")[-1]
    assert translated.startswith("# ") and "`make test`" in translated and "Thank you" not in translated
