"""Helpers the project's tests share: upload a document, follow its job, fetch the result."""

from __future__ import annotations

import uuid

import httpx

from polling import eventually


def unique_sentences(count: int, words: int = 9) -> list[str]:
    """Sentences no other test has sent: the translation memory cannot answer them."""
    tag = uuid.uuid4().hex[:6]
    return [
        f"The worker number {i} of batch {tag} has finished translating the {words} long pages." for i in range(count)
    ]


def upload(client: httpx.Client, text: str, filename: str = "guide.md", **params: str) -> dict:
    answer = client.post("/v1/documents", params={"filename": filename, **params}, content=text.encode())
    assert answer.status_code == 202, answer.text
    assert answer.headers["Location"] == f"/v1/jobs/{answer.json()['id']}"
    return answer.json()


def job(client: httpx.Client, job_id: str) -> dict:
    answer = client.get(f"/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_done(client: httpx.Client, job_id: str, timeout_s: float = 180) -> dict:
    assert eventually(lambda: job(client, job_id)["status"] in ("done", "failed"), timeout_s), job(client, job_id)
    return job(client, job_id)


def download(done: dict) -> str:
    assert done["status"] == "done" and done["download_url"], done
    answer = httpx.get(done["download_url"], timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.text
