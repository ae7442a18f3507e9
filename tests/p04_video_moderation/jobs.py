"""Helpers the project 04 tests share: submit a video, wait for a job to end."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

TERMINAL = {"succeeded", "failed", "cancelled"}


def submit(client: httpx.Client, video: Path, headers: dict | None = None, **form) -> httpx.Response:
    return client.post(
        "/v1/jobs",
        files={"video": (video.name, video.read_bytes(), "video/mp4")},
        data={k: str(v) for k, v in form.items()},
        headers=headers or {},
    )


def wait_for(client: httpx.Client, job_id: str, states=TERMINAL, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} not in {states} after {timeout_s} s: {job}")
