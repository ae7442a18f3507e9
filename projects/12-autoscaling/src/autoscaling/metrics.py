"""The router's own metrics: what a request waited for, and what was refused."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WAITING = Gauge("autoscaling_requests_waiting", "Requests sent on that have no first byte yet (the queue).")
IN_FLIGHT = Gauge("autoscaling_requests_in_flight", "Requests being answered, waiting ones included.")
REJECTED = Counter("autoscaling_rejected_total", "Requests refused, by reason.", ["reason"])
TTFT = Histogram(
    "autoscaling_time_to_first_byte_seconds",
    "From the request to the first byte of the answer: a cold start shows here.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
COLD_WAITS = Counter("autoscaling_cold_waits_total", "Requests that waited over 5 s for their first byte.")
STREAM_FAILURES = Counter("autoscaling_stream_failures_total", "Answers that broke after they had begun.")
