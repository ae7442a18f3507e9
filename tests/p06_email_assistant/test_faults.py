"""Each backend killed in turn, and what the reader was promised: nothing accepted is lost, nothing
is answered twice. PostgreSQL down: the API answers 503 and SMTP 451 (senders retry). The LLM down:
messages wait and are retried with backoff, then escalated. The course search down: the draft is
written without it. The relay down: the approved reply goes out once it is back. A worker killed
mid-message: the next one resumes it from its last checkpoint. Redis down: nothing new is accepted
(503), a decision already taken is carried out once Redis is back."""

from __future__ import annotations

import re
import smtplib

import httpx
import pytest

from p06_email_assistant.mailbox import NEWSLETTER, QUESTION, nodes, upload, wait_until_done
from polling import eventually
from problem_details import assert_backend_unavailable, assert_problem


@pytest.fixture
def postgres_down(stack):
    stack.postgres.stop()
    yield
    stack.postgres.start()


def test_postgres_down_refuses_mail_for_later_and_recovers(stack, client, mail, postgres_down):
    assert_backend_unavailable(
        client.post("/v1/messages", content=mail(*NEWSLETTER), headers={"Content-Type": "message/rfc822"}),
        "postgresql",
    )
    assert_problem(client.get("/health/ready"), 503, "not-ready")
    raw = mail(*NEWSLETTER)
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("news@example.org")
        smtp.rcpt("team@course.example")
        code, _ = smtp.data(raw)
    assert code == 451  # a temporary failure: the sending server keeps the message and retries
    stack.postgres.start()
    assert eventually(lambda: client.get("/health/ready").status_code == 200, 60)
    accepted = upload(client, raw)  # the sender's retry is not mistaken for a copy
    assert accepted["duplicate"] is False
    assert wait_until_done(client, accepted["id"])["state"] == "filed"  # the worker came through too


@pytest.fixture
def llm_down(stack):
    stack.llm.stop()
    yield
    if not stack.llm.process or not stack.llm.process.running:
        stack.llm.start()


def test_with_the_llm_down_a_message_waits_and_is_retried_when_it_returns(stack, client, mail, llm_down):
    accepted = upload(client, mail(*QUESTION))
    assert eventually(lambda: client.get(f"/v1/messages/{accepted['id']}").json()["attempts"] >= 1, 60)
    stack.llm.start()
    message = wait_until_done(client, accepted["id"])
    assert message["state"] == "awaiting_approval"
    assert nodes(client, accepted["id"]).count("triage") == 1  # resumed after triage, not started over


def test_with_the_llm_down_for_good_a_message_is_escalated_to_a_person(stack, client, mail, llm_down):
    accepted = upload(client, mail(*QUESTION))
    message = wait_until_done(client, accepted["id"], timeout_s=60)
    assert message["state"] == "escalated" and message["attempts"] == 4  # the first run and 3 retries
    last = client.get(f"/v1/messages/{accepted['id']}/trace").json()["steps"][-1]
    assert last["node"] == "escalated" and last["output"]["reason"] == "llm unavailable"
    worker_metrics = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
    retried = re.search(r'^email_assistant_retries_total\{backend="llm"\} (\S+)$', worker_metrics, re.MULTILINE)
    assert retried and float(retried.group(1)) >= 4  # each of this message's four failed runs counted


def test_with_the_course_search_down_the_draft_is_written_without_it(stack, client, mail):
    stack.course_search.stop_service()
    try:
        accepted = upload(client, mail(*QUESTION))
        assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
        steps = {s["node"]: s for s in client.get(f"/v1/messages/{accepted['id']}/trace").json()["steps"]}
        assert steps["run_tool"]["output"] == {"ok": False} and "error" in steps["run_tool"]["tool_result"]
        assert steps["draft"]["output"]["draft"]
    finally:
        stack.course_search.start_service()


def test_with_the_relay_down_an_approved_reply_goes_out_once_it_is_back(stack, client, mail):
    accepted = upload(client, mail(*QUESTION))
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    stack.relay.stop()
    try:
        client.post(f"/v1/approvals/{accepted['id']}", json={"action": "approve"})
        assert eventually(lambda: client.get(f"/v1/messages/{accepted['id']}").json()["attempts"] >= 1, 30)
    finally:
        stack.relay.start()
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "sent"
    mine = [m for m in stack.relay.received() if m["Message-ID"] == f"<reply-{accepted['id']}@course.example>"]
    assert len(mine) == 1


def test_a_decision_taken_while_redis_is_down_is_carried_out_when_it_returns(stack, client, mail):
    accepted = upload(client, mail(*QUESTION))
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    before = len(stack.relay.received())
    stack.redis.stop()
    try:
        refused = client.post("/v1/messages", content=mail(*NEWSLETTER), headers={"Content-Type": "message/rfc822"})
        assert_backend_unavailable(refused, "redis")
        assert client.post(f"/v1/approvals/{accepted['id']}", json={"action": "approve"}).status_code == 202
    finally:
        stack.redis.start()  # empty: the queue is gone, and the worker's sweep rebuilds it from PostgreSQL
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "sent"
    assert len(stack.relay.received()) == before + 1


# --8<-- [start:crash]
def test_a_worker_killed_mid_message_is_resumed_from_its_checkpoint_once(stack, client, mail):
    accepted = upload(client, mail(*QUESTION))
    # Kill the worker once the message is half-way: triage and extract done, the rest not.
    assert eventually(lambda: "extract" in nodes(client, accepted["id"]), 120, every_s=0.05)
    stack.worker.kill()  # SIGKILL: no cleanup, the message is still in its processing list
    assert client.get(f"/v1/messages/{accepted['id']}").json()["state"] == "working"
    stack.start_worker()
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    done = nodes(client, accepted["id"])
    # Triage was checkpointed before extract began: never run again. Extract had logged its row but
    # may not have been checkpointed when the kill came: the step in flight may run once more.
    assert done.count("triage") == 1 and done.count("extract") in (1, 2)
    assert done[-1] == "draft" and done.count("draft") == 1
    before = len(stack.relay.received())
    client.post(f"/v1/approvals/{accepted['id']}", json={"action": "approve"})
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "sent"
    assert len(stack.relay.received()) == before + 1


# --8<-- [end:crash]
