"""Moderate a video from Python: submit it as a job, follow its progress, print what was flagged.

    python client.py clip.mp4 [--priority high] [--url http://127.0.0.1:8000]

Needs httpx and httpx-sse (pip install httpx httpx-sse). Submitting answers 202 with the job at
once; the work happens in the workers. Progress arrives as Server-Sent Events (`progress` while it
runs, one `end` when it stops); the final job holds the flagged segments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
from httpx_sse import connect_sse


# --8<-- [start:submit]
def submit(url: str, video: Path, priority: str = "normal") -> dict:
    """Upload the video as a job; return the job as accepted (state "queued")."""
    with video.open("rb") as f:
        response = httpx.post(
            f"{url}/v1/jobs", data={"priority": priority}, timeout=120, files={"video": (video.name, f, "video/mp4")}
        )
    if response.status_code != 202:
        problem = response.json()  # problem+json: type, status, detail
        raise SystemExit(f"{problem['status']} {problem['type']}: {problem['detail']}")
    return response.json()


def follow(url: str, job_id: str) -> Iterator[dict]:
    """Yield the job each time it moves; the last one is the job as it ended."""
    path = f"{url}/v1/jobs/{job_id}/events"
    with httpx.Client(timeout=None) as client, connect_sse(client, "GET", path) as source:
        for event in source.iter_sse():
            yield json.loads(event.data)


# --8<-- [end:submit]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--priority", choices=("high", "normal"), default="normal")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    job = submit(args.url, args.video, args.priority)
    print(f"job {job['id']} {job['state']}")
    for update in follow(args.url, job["id"]):
        print(f"  {update['state']:<9} {update['progress']:.0%}  {update['frames_done']} frames")
        job = update
    if job["state"] != "succeeded":
        raise SystemExit(f"job {job['state']}: {job['error']}")
    for segment in job["segments"]:
        print(
            f"flagged {segment['start_s']:.1f}-{segment['end_s']:.1f} s "
            f"(peak {segment['peak_score']:.2f} at {segment['peak_at_s']:.1f} s)"
        )
    if not job["segments"]:
        print("nothing flagged")


if __name__ == "__main__":
    main(sys.argv[1:])
