"""client.py, the code the project's page shows a reader, against the running service."""

from __future__ import annotations

from reader_client import run_client


def test_the_client_classifies_the_cat(base_url, cat_jpeg, tmp_path):
    photo = tmp_path / "cat.jpg"
    photo.write_bytes(cat_jpeg)
    done = run_client("01-image-classification", str(photo), "--top-k", "3", "--url", base_url)
    assert done.returncode == 0, done.stderr
    header, *predictions = done.stdout.splitlines()
    assert header.startswith("efficientnet_lite0 version")
    assert len(predictions) == 3 and "cat" in predictions[0]


def test_the_client_says_what_the_problem_was(base_url, tmp_path):
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("not an image")
    done = run_client("01-image-classification", str(not_a_photo), "--url", base_url)
    assert done.returncode != 0
    assert "422 /problems/invalid-image" in done.stderr
