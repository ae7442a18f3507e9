"""Backends that die, and workers taken away. Each test puts back what it stopped.

- the neural server down: translations come from the rule-based engine, flagged as fallbacks;
- Redis down: short texts are translated without the memory (and say so); a document is still
  accepted, waits in S3, and a worker's sweep queues it when Redis is back;
- S3 down: a document is refused with 503 and Retry-After; short texts are not affected;
- a worker gets SIGTERM mid-job (a spot instance's notice): it finishes its batch, hands the job
  back and exits 0; another worker finishes the job; no segment was sent to an engine twice;
- a worker gets SIGKILL mid-job: its heartbeat stops, a live worker takes the job back, and it
  finishes from the last checkpoint; only the batch in flight may be translated again;
- scaled to zero: with no worker running, a job makes the scaler start one, which stops when idle."""

from __future__ import annotations

import signal

import pytest
import redis

from p07_translation.jobs import download, job, unique_sentences, upload, wait_done
from polling import eventually
from problem_details import assert_backend_unavailable
from translation.jobs import ALIVE, ENGINE_SEGMENTS, PROCESSING


def test_with_the_neural_server_down_the_rule_based_engine_answers_flagged(client, stack):
    stack.llm.stop()
    try:
        body = client.post("/v1/translate", json={"segments": unique_sentences(2), "engine": "neural"}).json()
        assert all(s["engine"] == "apertium" and s["fallback"] for s in body["segments"]), body
    finally:
        stack.llm.start()
    body = client.post("/v1/translate", json={"segments": unique_sentences(1), "engine": "neural"}).json()
    assert body["segments"][0]["engine"] == "neural" and not body["segments"][0]["fallback"]


def test_with_redis_down_texts_are_translated_uncached_and_documents_wait(client, stack):
    stack.redis.stop()
    try:
        body = client.post("/v1/translate", json={"segments": ["Open the file."], "engine": "apertium"}).json()
        assert body["memory"] == "unavailable" and body["segments"][0]["translation"]
        accepted = upload(client, " ".join(unique_sentences(2)), "waiting.txt", engine="apertium")
        assert job(client, accepted["id"])["status"] == "queued"
    finally:
        stack.redis.start()
    done = wait_done(client, accepted["id"])  # the sweep found it in S3 and queued it
    assert done["segments_done"] == 2 and download(done)


def test_with_s3_down_documents_get_503_and_texts_do_not_notice(client, stack):
    stack.s3.stop()
    try:
        answer = client.post("/v1/documents", params={"filename": "a.txt"}, content=b"Hello there.")
        assert_backend_unavailable(answer, "s3", retry_after_s=3)
        assert client.post("/v1/translate", json={"segments": ["Close"]}).status_code == 200
    finally:
        stack.s3.start()
    assert eventually(
        lambda: client.post("/v1/documents", params={"filename": "a.txt"}, content=b"Hi there.").status_code == 202, 30
    )


def running_job(client, count: int) -> dict:
    """A neural job of ``count`` new segments, returned once its first batch is checkpointed."""
    accepted = upload(client, " ".join(unique_sentences(count)), "long.txt", engine="neural")
    assert eventually(lambda: job(client, accepted["id"])["segments_done"] >= 4, 120), job(client, accepted["id"])
    return accepted


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_worker_taken_away_mid_job_loses_nothing(client, stack, how):
    stack.start_worker()  # a second worker: one is taken away, the other finishes the job
    accepted = running_job(client, 24)  # six batches of four
    taken = holder(stack, accepted["id"])
    if how == "SIGTERM":
        taken._signal(signal.SIGTERM)
        taken.proc.wait(timeout=30)
        assert taken.proc.returncode == 0 and "handed_back" in taken.log_tail(20)
    else:
        taken.kill()
    done = wait_done(client, accepted["id"], timeout_s=240)
    assert done["status"] == "done" and done["segments_done"] == 24
    assert len(download(done).split(". ")) == 24
    sent = int(redis.Redis.from_url(stack.redis.url).get(ENGINE_SEGMENTS + accepted["id"]))
    if how == "SIGTERM":
        assert sent == 24  # every segment exactly once
    else:
        assert 24 <= sent <= 24 + 4  # at most the batch in flight again
    stack.workers.remove(taken)  # the other one is the stack's worker now
    assert [w.running for w in stack.workers] == [True]


# --8<-- [start:scale-to-zero]
def test_scaled_to_zero_a_job_starts_a_worker_that_stops_when_idle(client, stack):
    for worker in stack.workers:
        worker.stop()  # idle: each hands nothing back and exits at once
    stack.workers.clear()
    scaler = stack.start_scaler(TRANSLATION_IDLE_EXIT_S="2")
    alive = redis.Redis.from_url(stack.redis.url)
    try:
        assert alive.keys(ALIVE + "*") == []  # no worker at all
        done = wait_done(client, upload(client, " ".join(unique_sentences(3)), "cold.txt", engine="apertium")["id"])
        assert done["segments_done"] == 3
        assert "started worker 1 (1 running)" in scaler.log_tail(50)
        assert eventually(lambda: "idle for 2 s: exiting" in scaler.log_tail(50), 30)
        assert eventually(lambda: alive.keys(ALIVE + "*") == [], 10)  # back to zero
    finally:
        scaler.stop()
        stack.scalers.remove(scaler)
        stack.start_worker()


# --8<-- [end:scale-to-zero]


def holder(stack, job_id: str):
    """The worker process whose processing list holds the job."""
    lists = redis.Redis.from_url(stack.redis.url)
    for worker in stack.workers:
        name = worker.env["TRANSLATION_WORKER_NAME"]
        if job_id.encode() in lists.lrange(PROCESSING + name, 0, -1):
            return worker
    raise AssertionError(f"no worker holds job {job_id}")
