"""Prometheus metrics of the service (Triton exports its own, per model, on its metrics port)."""

from prometheus_client import Counter, Histogram

MODEL_SECONDS = Histogram(
    "fraud_ensemble_model_seconds",
    "One model's call, as the service waits for it (fanout mode), by model.",
    ["model"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
MODEL_FAILURES = Counter(
    "fraud_ensemble_model_failures_total", "Model calls left out of a vote, by model and reason.", ["model", "reason"]
)
DEGRADED = Counter("fraud_ensemble_degraded_total", "Answers given with fewer than all models voting.")
NO_QUORUM = Counter("fraud_ensemble_no_quorum_total", "Requests refused (503): fewer models answered than the quorum.")
DECISIONS = Counter("fraud_ensemble_decisions_total", "Transactions scored, by decision.", ["decision"])
