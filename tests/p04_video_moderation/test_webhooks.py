"""Webhooks: signed, retried with growing delays against a receiver that fails at first, and every
attempt visible through the API."""

from __future__ import annotations

import json
import time

import pytest

from p04_video_moderation.conftest import WEBHOOK_SECRET
from p04_video_moderation.jobs import submit, wait_for
from polling import eventually
from study.webhook_receiver import WebhookReceiver
from video_moderation.webhooks import SIGNATURE_HEADER, verify


@pytest.fixture
def receiver():
    server = WebhookReceiver(failures=2)  # 500, 500, then 204
    yield server
    server.close()


def test_webhook_is_signed_retried_and_recorded(client, stack, videos, receiver):
    # By name: the worker resolves it, checks the address, connects to that address, and still
    # sends the name in the Host header.
    url = receiver.url.replace("127.0.0.1", "localhost")
    job = wait_for(client, submit(client, videos["short"], webhook_url=url).json()["id"])

    def attempts() -> list[dict]:
        return client.get(f"/v1/jobs/{job['id']}/webhooks").json()["attempts"]

    assert eventually(lambda: len(attempts()) == 3 and len(receiver.deliveries) == 3, 60), attempts()
    assert [d.answered for d in receiver.deliveries] == [500, 500, 204], "two failures, then delivered"
    for delivery in receiver.deliveries:
        assert delivery.headers["Host"] == url.split("/")[2]
        assert verify(WEBHOOK_SECRET, delivery.body, delivery.headers[SIGNATURE_HEADER])
        assert not verify("another-secret", delivery.body, delivery.headers[SIGNATURE_HEADER])
        assert json.loads(delivery.body) == {
            "job_id": job["id"],
            "state": "succeeded",
            "segments": job["segments"],
            "error": None,
            "frames": job["frames_done"],
        }
    # The delays the service scheduled, as it recorded them: 0.5 s, then doubled, then none.
    assert [(a["attempt"], a["status_code"], a["delivered"], a["retry_in_s"]) for a in attempts()] == [
        (1, 500, False, 0.5),
        (2, 500, False, 1.0),
        (3, 204, True, None),
    ]


def test_tampered_body_fails_verification(receiver):
    from video_moderation.webhooks import sign

    header = sign(WEBHOOK_SECRET, b'{"state": "succeeded"}')
    assert verify(WEBHOOK_SECRET, b'{"state": "succeeded"}', header)
    assert not verify(WEBHOOK_SECRET, b'{"state": "failed"}', header)
    assert not verify(WEBHOOK_SECRET, b'{"state": "succeeded"}', header, now=time.time() + 3600), "too old"
    assert not verify(WEBHOOK_SECRET, b"{}", "garbage")
