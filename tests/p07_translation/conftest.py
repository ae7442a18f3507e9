"""Project 07 fixtures: Redis, S3 (SeaweedFS), llama.cpp with Gemma 3 270M, the API and a document
worker, started once per session."""

from __future__ import annotations

from study.local.translation.stack import running_stack

from stack_fixtures import stack_fixtures

# Small batches and a fast heartbeat and sweep, so the preemption tests see a job stopped between
# batches, a dead worker noticed, and a job Redis lost queued again, in seconds. The by_length
# policy (not the default, "cheapest") so that requests with no engine exercise both engines.
TEST_SETTINGS = {
    "TRANSLATION_ROUTING_POLICY": "by_length",
    "TRANSLATION_BATCH_SIZE": "4",
    "TRANSLATION_HEARTBEAT_S": "1",
    "TRANSLATION_SWEEP_EVERY_S": "2",
    "TRANSLATION_MAX_DOCUMENT_BYTES": "65536",
    "TRANSLATION_RETRY_AFTER_S": "3",
}
local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None, service_env=TEST_SETTINGS), client_timeout_s=120
)
