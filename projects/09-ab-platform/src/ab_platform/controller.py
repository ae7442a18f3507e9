"""The automatic decisions: given an experiment's state and the evidence so far, what to do now.

A pure function, so that the same evidence always gives the same decision: the tests drive it with
made-up evidence, and a replay (``/v1/experiments/{id}/replay``) recomputes each recorded decision
from the predictions and outcomes stored up to its moment."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ab_platform.experiments import ExperimentState, all_control, stage_of_step, step_weights
from ab_platform.statistics import SequentialResult

SRM_THRESHOLD = 0.001  # p-value below which the split is called broken


@dataclass(frozen=True)
class Guardrail:
    requests: int  # calls to the candidate in this step (shadow calls in shadow)
    errors: int
    p95_latency_ms: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Evidence:
    guardrails: dict[str, Guardrail]  # per candidate
    tests: dict[str, SequentialResult]  # per candidate, against control
    outcomes: dict[str, int]  # per arm, outcomes the test has used
    srm_p_value: float


@dataclass(frozen=True)
class Action:
    kind: str  # an event kind: stage | candidate_rolled_back
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


# --8<-- [start:decide]
def decide(state: ExperimentState, evidence: Evidence, now: datetime) -> list[Action]:
    """Roll back a candidate at once when it breaks a guardrail or is significantly worse; move
    on to the next ramp step when the step's time has passed; leave the A/B step only for a
    candidate significantly better than control."""
    spec = state.spec
    if state.stage.finished:
        return []
    actions: list[Action] = []
    active = list(state.active_candidates)
    step = state.step

    def roll_back(candidate: str, reason: str) -> None:
        active.remove(candidate)
        weights = all_control(spec) if step is None or not active else step_weights(spec, step, active)
        actions.append(Action("candidate_rolled_back", reason, {"candidate": candidate, "weights": weights}))

    for candidate in list(active):
        rails, test = evidence.guardrails[candidate], evidence.tests[candidate]
        if rails.requests >= spec.guardrails.min_requests:
            if rails.error_rate > spec.guardrails.max_error_rate:
                roll_back(
                    candidate, f"guardrail: error rate {rails.error_rate:.1%} > {spec.guardrails.max_error_rate:.1%}"
                )
                continue
            if rails.p95_latency_ms > spec.guardrails.max_p95_latency_ms:
                limit = spec.guardrails.max_p95_latency_ms
                roll_back(candidate, f"guardrail: p95 latency {rails.p95_latency_ms:.0f} ms > {limit:.0f} ms")
                continue
        if (
            test.significant
            and test.direction < 0
            and _enough(evidence, spec.control, candidate, spec.decision.min_outcomes)
        ):
            roll_back(
                candidate, f"significantly worse: accuracy {test.difference:+.3f}, always-valid p {test.p_value:.4f}"
            )

    step_over = (now - state.step_started_at).total_seconds() >= spec.min_step_seconds
    judged = all(evidence.guardrails[c].requests >= spec.guardrails.min_requests for c in active)
    if not active or not step_over or not judged or evidence.srm_p_value < SRM_THRESHOLD:
        return actions  # nothing left to ramp, too early, too few calls, or a broken split: hold
    if step is None:  # shadow -> the first canary step
        actions.append(_to_step(state, 0, active, "shadow passed its guardrails"))
    elif step < spec.ab_step:
        actions.append(_to_step(state, step + 1, active, f"step {spec.ramp[step]:.0%} held its guardrails"))
    else:
        better = [
            c
            for c in active
            if evidence.tests[c].significant
            and evidence.tests[c].direction > 0
            and _enough(evidence, spec.control, c, spec.decision.min_outcomes)
        ]
        if better:
            winner = max(better, key=lambda c: evidence.tests[c].difference)
            for other in [c for c in active if c != winner]:
                roll_back(other, f"{winner} won the A/B test")
            test = evidence.tests[winner]
            reason = f"significantly better: accuracy {test.difference:+.3f}, always-valid p {test.p_value:.4f}"
            actions.append(_to_step(state, spec.ab_step + 1, [winner], reason, winner))
    return actions


# --8<-- [end:decide]


def _enough(evidence: Evidence, control: str, candidate: str, minimum: int) -> bool:
    return evidence.outcomes.get(control, 0) >= minimum and evidence.outcomes.get(candidate, 0) >= minimum


def _to_step(state: ExperimentState, step: int, active: list[str], reason: str, winner: str | None = None) -> Action:
    stage = stage_of_step(state.spec, step)
    data: dict[str, Any] = {"step": step, "stage": stage.value, "weights": step_weights(state.spec, step, active)}
    if winner is not None:
        data["winner"] = winner
    return Action("stage", reason, data)


def finite(value: float) -> float | None:
    """JSON has no NaN: a p95 of no calls is null."""
    return None if math.isnan(value) else value
