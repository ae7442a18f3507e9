"""What Prometheus sees of the platform, beside the per-route request metrics: traffic per arm,
the guardrail values and test statistics the controller decided on, its decisions, the spool."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PREDICTIONS = Counter(
    "ab_predictions_total",
    "Answers served, by experiment, arm, the model that answered and outcome (ok, fallback).",
    ["experiment", "arm", "model", "outcome"],
)
SHADOW_PREDICTIONS = Counter(
    "ab_shadow_predictions_total",
    "Shadow calls by experiment, model and result (agreed, disagreed, error).",
    ["experiment", "model", "result"],
)
MODEL_LATENCY = Histogram(
    "ab_model_latency_seconds",
    "Model call latency seen by the service, by model.",
    ["model"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
FEEDBACK = Counter("ab_feedback_total", "Feedback accepted, by where it went (database, spool).", ["stored"])
ARM_WEIGHT = Gauge("ab_arm_weight", "Share of units assigned to each arm.", ["experiment", "arm"])
GUARDRAIL = Gauge(
    "ab_guardrail_value",
    "A candidate's guardrail values in the current step (error_rate, p95_latency_ms).",
    ["experiment", "arm", "guardrail"],
)
ACCURACY_DIFFERENCE = Gauge(
    "ab_accuracy_difference", "Candidate accuracy minus control's, as the test sees it.", ["experiment", "arm"]
)
P_VALUE = Gauge("ab_always_valid_p_value", "The sequential test's always-valid p-value.", ["experiment", "arm"])
SRM_P_VALUE = Gauge("ab_srm_p_value", "Sample-ratio-mismatch chi-square p-value of the current split.", ["experiment"])
STAGE = Gauge("ab_experiment_stage", "1 for the stage each experiment is in.", ["experiment", "stage"])
DECISIONS = Counter(
    "ab_decisions_total", "Changes made, by experiment, kind and actor.", ["experiment", "kind", "actor"]
)
ROLLBACKS = Counter("ab_rollbacks_total", "Candidates rolled back, by experiment and candidate.", ["experiment", "arm"])
SPOOL_ENTRIES = Gauge("ab_spool_entries", "Predictions and feedback waiting in the local spool for PostgreSQL.")
STATE_AGE = Gauge("ab_state_age_seconds", "Age of the experiment states predictions are assigned from.")
