"""What an experiment is, and how its current state follows from its history.

Nothing about an experiment is updated in place: every change (created, a stage change, new
weights, a candidate rolled back, a promotion) is an event row with who made it, when and why. The
state is a fold over those events (``replay``), so the state at any past moment is the fold over
the events up to it, and the history cannot disagree with the state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from ab_platform.assignment import check_weights


class Stage(StrEnum):
    SHADOW = "shadow"  # candidates answer too, unseen; control serves everyone
    CANARY = "canary"  # a small share of units served by the candidates (ramp steps below the A/B step)
    AB = "ab"  # the ramp's largest step below 100 %: where a winner must be shown
    PROMOTED = "promoted"  # one candidate serves everyone
    ROLLED_BACK = "rolled_back"  # every candidate out; control serves everyone

    @property
    def finished(self) -> bool:
        return self in (Stage.PROMOTED, Stage.ROLLED_BACK)


class Guardrails(BaseModel):
    """Limits a candidate must stay within at every step; a breach rolls it back at once."""

    max_error_rate: float = Field(0.02, ge=0, le=1, description="Share of a candidate's calls that failed.")
    max_p95_latency_ms: float = Field(250.0, gt=0, description="p95 of the candidate model's latency.")
    min_requests: int = Field(30, ge=1, description="Calls a candidate must have had in a step before it is judged.")


class DecisionRule(BaseModel):
    """The sequential test (mSPRT) on accuracy, candidate against control."""

    alpha: float = Field(0.05, gt=0, lt=0.5, description="Chance of declaring a difference that is not there.")
    tau: float = Field(0.05, gt=0, le=1, description="Spread of the effects expected, in accuracy (0.05: 5 points).")
    min_outcomes: int = Field(50, ge=1, description="Outcomes per arm before any decision on accuracy.")


class ExperimentSpec(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", examples=["sentiment-minilm"])
    description: str = Field("", max_length=2000)
    unit: str = Field("user", pattern="^(user|session)$", description="What is assigned: a user or a session.")
    control: str = Field(examples=["sentiment_lexicon"])
    candidates: list[str] = Field(min_length=1, max_length=3, examples=[["sentiment_minilm"]])
    ramp: list[float] = Field(
        [0.01, 0.1, 0.5, 1.0], description="Candidate weight at each step; the last is 1 (promotion)."
    )
    min_step_seconds: float = Field(3600.0, ge=0, description="Least time at each step before the next.")
    shadow_fraction: float = Field(1.0, ge=0, le=1, description="Share of requests mirrored in shadow.")
    start_stage: Stage = Field(Stage.SHADOW, description="shadow or canary.")
    guardrails: Guardrails = Field(default_factory=Guardrails)
    decision: DecisionRule = Field(default_factory=DecisionRule)

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, ramp: list[float]) -> list[float]:
        if len(ramp) < 2 or ramp[-1] != 1.0 or any(not 0 < w <= 1 for w in ramp) or ramp != sorted(set(ramp)):
            raise ValueError("ramp: at least two increasing weights in (0, 1], the last one 1.0")
        return ramp

    @model_validator(mode="after")
    def _arms(self) -> ExperimentSpec:
        if len(set(self.candidates)) != len(self.candidates) or self.control in self.candidates:
            raise ValueError("candidates are distinct models, none of them the control")
        if self.start_stage not in (Stage.SHADOW, Stage.CANARY):
            raise ValueError("an experiment starts in shadow or canary")
        return self

    @property
    def ab_step(self) -> int:
        """The index of the A/B step: the largest weight below 100 %."""
        return len(self.ramp) - 2


@dataclass(frozen=True)
class Event:
    seq: int
    experiment_id: str
    at: datetime
    actor: str  # "controller" for automatic actions, else who called the API
    kind: str  # created | stage | weights | candidate_rolled_back | promoted
    reason: str
    data: dict[str, Any]


@dataclass
class ExperimentState:
    spec: ExperimentSpec
    stage: Stage
    weights: dict[str, float]
    step: int | None  # index into spec.ramp while in canary/ab
    step_started_at: datetime
    rolled_back: dict[str, str] = field(default_factory=dict)  # candidate -> reason
    winner: str | None = None
    seq: int = 0  # the last event folded in
    created_at: datetime | None = None
    weights_since: datetime | None = None  # the split's last change (the SRM check counts from it)
    traffic_since: datetime | None = None  # when candidates first served (the test counts from it)

    @property
    def active_candidates(self) -> list[str]:
        return [c for c in self.spec.candidates if c not in self.rolled_back]


def step_weights(spec: ExperimentSpec, step: int, active: list[str]) -> dict[str, float]:
    """Each active candidate at the step's weight; with several, each at most 1/(n+1) so that
    control keeps a share as large as any candidate's."""
    share = spec.ramp[step] if len(active) == 1 else min(spec.ramp[step], 1 / (len(active) + 1))
    weights = {spec.control: 1.0 - share * len(active), **{c: 0.0 for c in spec.candidates}}
    weights.update({c: share for c in active})
    return weights


def stage_of_step(spec: ExperimentSpec, step: int) -> Stage:
    if step >= len(spec.ramp) - 1:
        return Stage.PROMOTED
    return Stage.AB if step == spec.ab_step else Stage.CANARY


def all_control(spec: ExperimentSpec) -> dict[str, float]:
    return {spec.control: 1.0, **{c: 0.0 for c in spec.candidates}}


# --8<-- [start:replay]
def apply(state: ExperimentState | None, event: Event) -> ExperimentState:
    """One event on top of the state before it."""
    if event.kind == "created":
        spec = ExperimentSpec.model_validate(event.data["spec"])
        step = 0 if spec.start_stage == Stage.CANARY else None
        weights = all_control(spec) if step is None else step_weights(spec, 0, spec.candidates)
        stage = Stage.SHADOW if step is None else stage_of_step(spec, 0)
        return ExperimentState(
            spec,
            stage,
            weights,
            step,
            event.at,
            seq=event.seq,
            created_at=event.at,
            weights_since=event.at,
            traffic_since=None if step is None else event.at,
        )
    if state is None:
        raise ValueError(f"event {event.seq} ({event.kind}) comes before the experiment was created")
    if event.seq <= state.seq:
        return state  # already folded in (a cached state that was updated directly)
    state.seq = event.seq
    if event.kind == "stage":  # to a ramp step (canary, ab, promoted) or back to shadow
        state.step = event.data["step"]
        state.stage = Stage(event.data["stage"])
        state.weights = dict(event.data["weights"])
        state.step_started_at = event.at
        if state.step is not None and state.traffic_since is None:
            state.traffic_since = event.at
        if state.stage == Stage.PROMOTED:
            state.winner = event.data["winner"]
    elif event.kind == "weights":  # a manual split, kept until the next stage change
        state.weights = dict(event.data["weights"])
    elif event.kind == "candidate_rolled_back":
        state.rolled_back[event.data["candidate"]] = event.reason
        state.weights = dict(event.data["weights"])
        if not state.active_candidates:
            state.stage, state.step = Stage.ROLLED_BACK, None
    else:
        raise ValueError(f"unknown event kind {event.kind!r}")
    if event.kind in ("stage", "weights", "candidate_rolled_back"):
        state.weights_since = event.at
    check_weights(state.spec.control, state.spec.candidates, state.weights)
    return state


def replay(events: list[Event]) -> ExperimentState:
    """The current state: every event, in order, from nothing."""
    state: ExperimentState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise ValueError("no events")
    return state


# --8<-- [end:replay]
