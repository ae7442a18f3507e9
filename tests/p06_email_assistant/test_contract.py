"""The contract a reader builds on: a message goes in, the assistant triages it, looks something up,
drafts, and waits; a person approves, edits or rejects; a threaded reply goes out once."""

from __future__ import annotations

import smtplib

import httpx

from p06_email_assistant.mailbox import NEWSLETTER, QUESTION, nodes, upload, wait_until_done
from polling import eventually
from problem_details import assert_problem


def test_a_question_is_triaged_looked_up_and_drafted_then_waits_for_a_person(client, mail):
    accepted = upload(client, mail(*QUESTION))
    assert accepted["duplicate"] is False and accepted["state"] == "queued"
    message = wait_until_done(client, accepted["id"])
    assert (message["state"], message["category"]) == ("awaiting_approval", "question")
    trace = client.get(f"/v1/messages/{accepted['id']}/trace").json()
    steps = {step["node"]: step for step in trace["steps"]}
    assert list(steps) == ["triage", "extract", "choose_tool", "run_tool", "draft"]
    assert steps["triage"]["model"] == "tfidf-logreg" and steps["triage"]["output"]["category"] == "question"
    assert steps["choose_tool"]["output"]["tool"] == "search_course"
    assert steps["run_tool"]["tool"] == "search_course" and steps["run_tool"]["tool_result"]["sections"]
    assert all(steps[n]["prompt_tokens"] > 0 and steps[n]["model"] == "local" for n in ("extract", "draft"))
    waiting = client.get("/v1/approvals").json()["waiting"]
    assert [w["draft"] for w in waiting if w["message"] == accepted["id"]] == [steps["draft"]["output"]["draft"]]


def test_an_approved_reply_is_sent_once_and_threads_under_the_question(client, stack, mail):
    raw = mail(*QUESTION)
    accepted = upload(client, raw)
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    before = len(stack.relay.received())
    assert client.post(f"/v1/approvals/{accepted['id']}", json={"action": "approve"}).status_code == 202
    assert_problem(client.post(f"/v1/approvals/{accepted['id']}", json={"action": "approve"}), 409, "already-decided")
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "sent"
    sent = stack.relay.received()[before:]
    assert len(sent) == 1
    original = client.get(f"/v1/messages/{accepted['id']}").json()
    assert sent[0]["In-Reply-To"] == original["message_id"] and sent[0]["References"] == original["message_id"]
    assert (
        sent[0]["Subject"] == f"Re: {QUESTION[0]}"
        and sent[0]["Message-ID"] == f"<reply-{accepted['id']}@course.example>"
    )
    assert nodes(client, accepted["id"])[-1] == "send"


def test_an_edited_reply_is_sent_as_edited(client, stack, mail):
    accepted = upload(client, mail(*QUESTION))
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    edited = "Hello,\n\nSet max_queue_delay_microseconds well below your p99 budget; see the Triton chapter.\n"
    assert client.post(f"/v1/approvals/{accepted['id']}", json={"action": "edit", "body": edited}).status_code == 202
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "sent"
    (reply,) = [m for m in stack.relay.received() if m["Message-ID"] == f"<reply-{accepted['id']}@course.example>"]
    assert reply.get_content().replace("\r\n", "\n").strip() == edited.strip()


def test_a_rejection_sends_nothing_and_its_reason_joins_the_sender_s_memory(client, stack, mail):
    sender = "Kai Lindqvist <kai@lindqvist.example>"
    accepted = upload(client, mail(*QUESTION, sender=sender))
    assert wait_until_done(client, accepted["id"])["state"] == "awaiting_approval"
    before = len(stack.relay.received())
    reason = "answered by phone already"
    assert (
        client.post(f"/v1/approvals/{accepted['id']}", json={"action": "reject", "reason": reason}).status_code == 202
    )
    assert wait_until_done(client, accepted["id"], busy={"awaiting_approval"})["state"] == "rejected"
    assert len(stack.relay.received()) == before
    notes = stack.postgres.sql("app", "SELECT note FROM sender_notes WHERE sender = 'kai@lindqvist.example'")
    assert notes == f"reply rejected: {reason}"


def test_a_newsletter_is_filed_without_a_model_call(client, mail):
    accepted = upload(client, mail(*NEWSLETTER))
    message = wait_until_done(client, accepted["id"])
    assert (message["state"], message["category"]) == ("filed", "newsletter")
    trace = client.get(f"/v1/messages/{accepted['id']}/trace").json()["steps"]
    assert [s["node"] for s in trace] == ["triage", "file"] and all(s["prompt_tokens"] is None for s in trace)


def test_the_same_message_delivered_twice_is_handled_once(client, mail):
    raw = mail(*NEWSLETTER)
    first, second = upload(client, raw), upload(client, raw)
    assert second == {**first, "duplicate": True, "state": second["state"]} and second["id"] == first["id"]
    wait_until_done(client, first["id"])
    assert nodes(client, first["id"]) == ["triage", "file"]


def test_mail_arrives_over_smtp_as_well(client, stack, mail):
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail("news@example.org")
        smtp.rcpt("team@course.example")
        code, answer = smtp.data(mail(*NEWSLETTER))
    assert code == 250, answer
    message = int(answer.decode().rsplit(" ", 1)[1])
    assert wait_until_done(client, message)["state"] == "filed"


def test_a_sender_over_the_hourly_limit_is_held_not_processed(client, mail):
    sender = "Flood <flood@example.org>"
    answers = [upload(client, mail(*NEWSLETTER, sender=sender)) for _ in range(4)]  # the tests allow 3 an hour
    assert [a["held"] for a in answers] == [False, False, False, True]
    assert eventually(lambda: client.get(f"/v1/messages/{answers[2]['id']}").json()["state"] == "filed", 60)
    assert client.get(f"/v1/messages/{answers[3]['id']}").json()["state"] == "held"
    assert nodes(client, answers[3]["id"]) == []


def test_health_and_metrics(client, stack):
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/health/ready").json() == {"status": "ready"}
    assert "email_assistant_accepted_total" in client.get("/metrics").text
    worker = httpx.get(f"http://127.0.0.1:{stack.worker_metrics_port}/metrics").text
    assert 'email_assistant_steps_total{node="triage"}' in worker
