"""Project 06 fixtures: PostgreSQL, Redis, the SMTP relay, the LLM server, project 03's course search,
the API and a worker, started once per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from study.local.email_assistant.stack import running_stack

from p06_email_assistant.mailbox import write_mail
from stack_fixtures import stack_fixtures

# A short backoff, so the fault tests see a message retried, then escalated, in seconds (2, 4, 8 s:
# time enough to start the LLM server again before the last retry).
TEST_SETTINGS = {
    "EMAIL_ASSISTANT_RETRY_BACKOFF_S": "2",
    "EMAIL_ASSISTANT_LLM_RETRIES": "3",
    "EMAIL_ASSISTANT_SENDER_MESSAGES_PER_HOUR": "3",
    "EMAIL_ASSISTANT_SWEEP_EVERY_S": "2",  # the worker re-queues from PostgreSQL what Redis lost
}
local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, service_env=TEST_SETTINGS), client_timeout_s=60
)


@pytest.fixture
def mail() -> Callable[..., bytes]:
    return write_mail
