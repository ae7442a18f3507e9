"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client


def test_the_client_prints_the_lines_and_the_stages(base_url, page_photo, tmp_path):
    scan = tmp_path / "page.png"
    scan.write_bytes(page_photo.image)
    done = run_client("08-ocr", str(scan), "--url", base_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "1.00  Region-based segmentation"
    assert lines[-1].startswith("7 lines from 384x191 pixels; decode ")


def test_the_client_reports_a_problem(base_url, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"not an image")
    done = run_client("08-ocr", str(notes), "--url", base_url)
    assert done.returncode != 0 and "422 /problems/invalid-image" in done.stderr
