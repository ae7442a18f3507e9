"""Priorities, idempotency, cancellation, poison videos: against the local stack's one worker."""

from __future__ import annotations

import uuid

import httpx

from p04_video_moderation.jobs import submit, wait_for
from study.metrics_page import metric_total


# --8<-- [start:priority]
def test_high_priority_overtakes_queued_normal_jobs(client: httpx.Client, stack, videos):
    busy = submit(client, videos["long"]).json()
    wait_for(client, busy["id"], states={"running"})  # the only worker is now busy
    normal = [submit(client, videos["short"], priority="normal").json() for _ in range(2)]
    high = submit(client, videos["short"], priority="high").json()
    finished = {job["id"]: wait_for(client, job["id"]) for job in [busy, *normal, high]}
    started = sorted(finished.values(), key=lambda job: job["started_at"])
    assert [job["id"] for job in started] == [busy["id"], high["id"], normal[0]["id"], normal[1]["id"]]
    assert all(job["state"] == "succeeded" for job in finished.values())


# --8<-- [end:priority]


def test_same_idempotency_key_gives_the_same_job(client: httpx.Client, videos):
    key = f"upload-{uuid.uuid4()}"
    first = submit(client, videos["short"], headers={"Idempotency-Key": key})
    second = submit(client, videos["short"], headers={"Idempotency-Key": key})
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    other = submit(client, videos["short"], headers={"Idempotency-Key": f"{key}-other"})
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]
    wait_for(client, first.json()["id"])


def test_cancel_a_queued_job_and_a_running_one(client: httpx.Client, stack, videos):
    running = submit(client, videos["long"]).json()
    wait_for(client, running["id"], states={"running"})
    queued = submit(client, videos["short"]).json()
    cancelled = client.delete(f"/v1/jobs/{queued['id']}")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"
    assert client.delete(f"/v1/jobs/{running['id']}").status_code == 202
    stopped = wait_for(client, running["id"])
    assert stopped["state"] == "cancelled" and stopped["frames_done"] < stopped["frames_total"]
    follow_up = wait_for(client, submit(client, videos["short"]).json()["id"])  # the worker moved on
    assert follow_up["state"] == "succeeded"
    assert client.get(f"/v1/jobs/{queued['id']}").json()["frames_done"] == 0, "it never ran"
    again = client.delete(f"/v1/jobs/{queued['id']}")
    assert again.status_code == 409 and again.json()["type"] == "/problems/job-finished"


def test_poison_video_fails_its_own_job_only(client: httpx.Client, stack, videos, tmp_path):
    from p04_video_moderation.videos import corrupt_copy

    poison = submit(client, corrupt_copy(videos["scenes"], tmp_path / "poison.mp4"))
    assert poison.status_code == 202, "its header is fine: the API accepts it"
    healthy = submit(client, videos["short"]).json()
    failed = wait_for(client, poison.json()["id"])
    assert failed["state"] == "failed" and "decoding failed" in failed["error"]
    assert failed["deliveries"] == 1, "a poison video is not retried"
    assert wait_for(client, healthy["id"])["state"] == "succeeded"


def test_a_finished_job_keeps_its_results_not_its_video(client: httpx.Client, stack, videos):
    job = wait_for(client, submit(client, videos["short"]).json()["id"])
    assert job["state"] == "succeeded"
    assert not (stack.storage_dir / f"{job['id']}.video").exists()
    assert len(client.get(f"/v1/jobs/{job['id']}/frames").json()["frames"]) == 4


def test_the_worker_counts_its_own_work(client, stack, videos):
    """Frames scored, batch sizes, Triton time and finished jobs, on the worker's own /metrics."""
    worker = stack.workers[-1].url + "/metrics"
    names = (
        "video_moderation_worker_frames_scored_total",
        "video_moderation_worker_batch_frames_count",
        "video_moderation_worker_batch_frames_sum",
        "video_moderation_worker_triton_seconds_count",
    )
    before = [metric_total(worker, name) for name in names]
    finished_before = metric_total(worker, "video_moderation_worker_jobs_finished_total", state="succeeded")
    job = wait_for(client, submit(client, videos["scenes"]).json()["id"])
    assert job["state"] == "succeeded" and job["frames_done"] == 16  # 8 s at 2 fps
    frames, batches, batched_frames, triton_calls = (
        metric_total(worker, n) - b for n, b in zip(names, before, strict=True)
    )
    assert frames == batched_frames == 16
    assert batches == triton_calls == 2  # batches of 8 (the tests' VIDEO_MODERATION_BATCH_SIZE)
    assert metric_total(worker, "video_moderation_worker_jobs_finished_total", state="succeeded") == finished_before + 1
