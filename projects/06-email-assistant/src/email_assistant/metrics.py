"""Prometheus metrics. The API exposes its own at /metrics; each worker serves its own on
EMAIL_ASSISTANT_WORKER_METRICS_PORT (the steps, tools and tokens are counted where they run)."""

from prometheus_client import Counter, Histogram

ACCEPTED = Counter(
    "email_assistant_accepted_total", "Inbound messages by channel and result.", ["channel", "result"]
)  # result: queued, held, duplicate, refused
MESSAGES = Counter(
    "email_assistant_messages_total", "Messages finished, by category and outcome.", ["category", "outcome"]
)
STEPS = Counter("email_assistant_steps_total", "Graph steps run, by node.", ["node"])
STEPS_PER_MESSAGE = Histogram(
    "email_assistant_steps_per_message", "Steps a message took to finish.", buckets=(1, 2, 3, 4, 5, 6, 7, 8, 10, 15)
)
TOOL_CALLS = Counter("email_assistant_tool_calls_total", "Tool calls, by tool and result.", ["tool", "result"])
LLM_TOKENS = Counter("email_assistant_llm_tokens_total", "LLM tokens, by step and kind.", ["step", "kind"])
STEP_SECONDS = Histogram("email_assistant_step_seconds", "Time per graph step.", ["node"])
APPROVAL_WAIT = Histogram(
    "email_assistant_approval_wait_seconds",
    "From a draft's request to a person's decision.",
    buckets=(1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
RETRIES = Counter(
    "email_assistant_retries_total", "Message runs put back for later, by the backend that failed.", ["backend"]
)
