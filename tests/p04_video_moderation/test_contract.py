"""Black-box contract (also against a deployed stack with --base-url): submit, follow, results."""

from __future__ import annotations

import httpx

from p04_video_moderation.jobs import submit, wait_for
from sse_events import read_events
from study.metrics_page import metric_total


def test_submit_returns_at_once_and_the_job_completes(client: httpx.Client, videos):
    response = submit(client, videos["scenes"], threshold=0.025)
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] == "queued" and job["progress"] == 0.0 and job["duration_s"] == 8.0
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    done = wait_for(client, job["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0
    assert done["frames_done"] == done["frames_total"] == 16  # 8 s at 2 frames per second
    frames = client.get(f"/v1/jobs/{job['id']}/frames").json()["frames"]
    assert [f["index"] for f in frames] == list(range(16))
    assert [f["time_s"] for f in frames] == [i / 2 for i in range(16)]
    assert all(0.0 <= f["score"] <= 1.0 for f in frames)


def test_progress_streams_and_only_moves_forward(client: httpx.Client, videos):
    job = submit(client, videos["long"]).json()
    with client.stream("GET", f"/v1/jobs/{job['id']}/events", timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(read_events(response))
    kinds = [k for k, _ in events]
    assert kinds[-1] == "end" and set(kinds[:-1]) == {"progress"}
    progress = [data["progress"] for _, data in events]
    assert progress == sorted(progress), "progress never goes back"
    assert progress[-1] == 1.0 and len(set(progress)) >= 3, "several steps were reported"
    done = [data["frames_done"] for _, data in events]
    assert done == sorted(done)


def test_health_and_metrics(client: httpx.Client, videos):
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").status_code == 200
    metrics = str(client.base_url.join("/metrics"))
    before = metric_total(metrics, "video_moderation_jobs_submitted_total")
    accepted = submit(client, videos["short"])
    assert accepted.status_code == 202, accepted.text
    assert metric_total(metrics, "video_moderation_jobs_submitted_total") - before == 1
    wait_for(client, accepted.json()["id"])  # leave no work behind for the tests that follow


def test_openapi_documents_the_api(client: httpx.Client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/events",
        "/v1/jobs/{job_id}/frames",
        "/v1/jobs/{job_id}/webhooks",
    } <= set(paths)
