"""Prometheus metrics of streaming generation, beyond the HTTP ones."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TTFT_SECONDS = Histogram(
    "streaming_llm_chat_time_to_first_token_seconds",
    "From accepting the message to sending the first token.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
INTER_TOKEN_SECONDS = Histogram(
    "streaming_llm_chat_inter_token_latency_seconds",
    "Time between two consecutive streamed pieces.",
    buckets=(0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28),
)
TOKENS_GENERATED = Counter("streaming_llm_chat_tokens_generated", "Completion tokens streamed to clients.")
ACTIVE_STREAMS = Gauge("streaming_llm_chat_active_streams", "Generations in flight on this instance.")
QUEUE_DEPTH = Gauge("streaming_llm_chat_queue_depth", "Requests waiting for a generation slot.")
REJECTED = Counter("streaming_llm_chat_rejected_requests", "Requests refused before generation.", ["reason"])
CANCELLED = Counter("streaming_llm_chat_cancelled_generations", "Generations stopped because the client left.")
LLM_REQUESTS = Counter("streaming_llm_chat_llm_requests", "Turns answered, by LLM server replica.", ["replica"])
LLM_FAILOVERS = Counter(
    "streaming_llm_chat_llm_failovers", "Turns a replica could not start, passed to the next one.", ["replica"]
)
TENANT_TOKENS = Counter(
    "streaming_llm_chat_tenant_tokens", "Tokens spent, by tenant and kind (prompt or completion).", ["tenant", "kind"]
)
TENANT_REJECTED = Counter(
    "streaming_llm_chat_tenant_rejected_requests", "Requests a tenant's own limits refused.", ["tenant", "reason"]
)
