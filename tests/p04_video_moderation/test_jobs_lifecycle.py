"""Priorities, idempotency, cancellation, poison videos: against the local stack's one worker."""

from __future__ import annotations

import uuid

import httpx

from p04_video_moderation.jobs import submit, wait_for


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
