"""The platform's work: serve a prediction from the arm a unit is assigned to, record it, join
feedback to it, and let the controller act on each running experiment.

Experiment states are kept in memory, re-read from PostgreSQL every second (only the events after
the last one seen), so a prediction does not wait for the database. When PostgreSQL is unreachable
the last states keep serving (answers say ``assignment_cached``) and what must be written goes to
the spool (spool.py) until it is back."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from ab_platform import metrics
from ab_platform.assignment import arm_at, check_weights, position
from ab_platform.controller import SRM_THRESHOLD, Action, Evidence, decide, finite
from ab_platform.experiments import (
    Event,
    ExperimentSpec,
    ExperimentState,
    Stage,
    all_control,
    apply,
    replay,
    stage_of_step,
    step_weights,
)
from ab_platform.settings import Settings
from ab_platform.spool import Spool
from ab_platform.statistics import wilson_interval
from ab_platform.store import OutcomeRow, PredictionRow, Store, UnknownExperiment
from ab_platform.triton_client import ModelUnavailable, Sentiment, SentimentModels

log = logging.getLogger(__name__)
DATABASE_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, OSError, TimeoutError)


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL is needed for this request and cannot be reached."""


class UnknownPrediction(LookupError):
    pass


class FeedbackExists(RuntimeError):
    pass


class InvalidWeights(ValueError):
    """Weights that do not sum to 1, name unknown arms, or overlap the candidates' lanes (422)."""


class UnknownModel(ValueError):
    """An experiment names a model the platform does not serve (422)."""


class InvalidChange(ValueError):
    """A change the experiment does not allow: a finished experiment, weights outside the lanes,
    a winner that is not an active candidate, a model the platform does not serve."""


@dataclass(frozen=True)
class Served:
    prediction_id: uuid.UUID
    sentiment: Sentiment
    model: str  # the model that answered
    arm: str | None
    experiment: str | None
    stage: str | None
    fallback: bool
    assignment_cached: bool


class Platform:
    def __init__(self, settings: Settings, store: Store, models: SentimentModels, spool: Spool):
        self.settings, self.store, self.models, self.spool = settings, store, models, spool
        self.states: dict[str, ExperimentState] = {}
        self.refreshed_at: float | None = None  # monotonic time of the last successful refresh
        self._last_seq = 0
        self._tasks: list[asyncio.Task] = []
        # A circuit breaker: after a failed write, writes go straight to the spool for a while
        # instead of each waiting for the database's timeout.
        self._database_down_until = 0.0

    # ----- experiment states -------------------------------------------------------------------

    async def refresh(self) -> None:
        """Fold the events written since the last refresh (by this instance or another)."""
        for event in await self.store.events(after_seq=self._last_seq):
            self._fold(event)
        self.refreshed_at = time.monotonic()

    def _fold(self, event: Event) -> None:
        state = self.states.get(event.experiment_id)
        if state is None or event.seq > state.seq:
            self.states[event.experiment_id] = apply(state, event)
        self._last_seq = max(self._last_seq, event.seq)
        self._export(self.states[event.experiment_id])

    @property
    def states_stale(self) -> bool:
        return self.refreshed_at is None or time.monotonic() - self.refreshed_at > self.settings.stale_after_s

    async def state(self, experiment_id: str) -> ExperimentState:
        if experiment_id not in self.states:
            try:
                await self.refresh()
            except DATABASE_ERRORS as exc:
                raise DatabaseUnavailable(str(exc)) from None
        if experiment_id not in self.states:
            raise UnknownExperiment(experiment_id)
        return self.states[experiment_id]

    def _export(self, state: ExperimentState) -> None:
        exp = state.spec.id
        for arm, weight in state.weights.items():
            metrics.ARM_WEIGHT.labels(exp, arm).set(weight)
        for stage in Stage:
            metrics.STAGE.labels(exp, stage.value).set(1 if stage == state.stage else 0)
        for candidate in state.spec.candidates:
            # At 0 from the start: a counter that first appears at 1 shows no increase() to Prometheus.
            metrics.ROLLBACKS.labels(exp, candidate)

    # ----- serving -----------------------------------------------------------------------------

    # --8<-- [start:predict]
    async def predict(self, text: str, unit_id: str, experiment_id: str | None) -> Served:
        now = datetime.now(UTC)
        if experiment_id is None:
            answer = await self.models.predict(self.settings.default_model, text)
            row = _answer_row(
                answer, experiment_id=None, unit_id=unit_id, arm=None, model=self.settings.default_model, created_at=now
            )
            await self._write([row])
            return Served(row.id, answer, row.model, None, None, None, False, False)

        state = await self.state(experiment_id)
        spec, cached = state.spec, self.states_stale
        arm = arm_at(position(experiment_id, unit_id), spec.control, spec.candidates, state.weights)
        shadows = (
            state.active_candidates if state.stage == Stage.SHADOW and random.random() < spec.shadow_fraction else []
        )
        # The served call and any shadow calls run together: shadowing adds the slowest, not the sum.
        calls = await asyncio.gather(
            self.models.predict(arm, text), *(self.models.predict(c, text) for c in shadows), return_exceptions=True
        )
        main, error, fallback = calls[0], None, False
        if isinstance(main, ModelUnavailable) and arm != spec.control:
            error, fallback = str(main), True  # the candidate failed: control answers, recorded as such
            main = await self.models.predict(spec.control, text)
        elif isinstance(main, BaseException):
            raise main
        assert isinstance(main, Sentiment)
        served = _answer_row(
            main,
            experiment_id=experiment_id,
            unit_id=unit_id,
            arm=arm,
            model=spec.control if fallback else arm,
            created_at=now,
            error=error,
            fallback=fallback,
            assignment_cached=cached,
            state_seq=state.seq,
        )
        rows = [served]
        for candidate, result in zip(shadows, calls[1:], strict=True):
            rows.append(_shadow_row(served, candidate, result))
            agreed = "error" if isinstance(result, BaseException) else str(result.label == main.label).lower()
            metrics.SHADOW_PREDICTIONS.labels(experiment_id, candidate, agreed).inc()
        await self._write(rows)
        metrics.PREDICTIONS.labels(experiment_id, arm, served.model, "fallback" if fallback else "ok").inc()
        return Served(served.id, main, served.model, arm, experiment_id, state.stage.value, fallback, cached)

    # --8<-- [end:predict]

    @property
    def database_skipped(self) -> bool:
        return time.monotonic() < self._database_down_until

    def _database_failed(self, exc: BaseException) -> None:
        if not self.database_skipped:
            log.warning(
                "database unavailable, writing to the spool for %.0f s: %s", self.settings.database_retry_s, exc
            )
        self._database_down_until = time.monotonic() + self.settings.database_retry_s

    async def _write(self, rows: list[PredictionRow]) -> str:
        """To PostgreSQL if it answers in time, else to the spool: "database" or "spool"."""
        if not self.database_skipped:
            try:
                async with asyncio.timeout(self.settings.database_timeout_s):
                    await self.store.insert_predictions(rows)
                return "database"
            except DATABASE_ERRORS as exc:
                self._database_failed(exc)
        await self._spool(rows)
        return "spool"

    async def _spool(self, rows: Sequence[PredictionRow | OutcomeRow]) -> None:
        await asyncio.to_thread(self.spool.add, rows)
        metrics.SPOOL_ENTRIES.set(len(self.spool))

    # --8<-- [start:feedback]
    async def feedback(self, prediction_id: uuid.UUID, true_label: str | None, correct: bool | None) -> str:
        """Join a delayed label to its prediction: "database", or "spool" while PostgreSQL is down
        or the prediction itself still waits in the spool. Spooled feedback is checked when it
        reaches the database; one whose prediction never arrives is kept in unmatched_outcomes."""
        outcome = OutcomeRow(prediction_id, true_label, correct, datetime.now(UTC))
        if self.database_skipped:
            return await self._spool_outcome(outcome)
        try:
            async with asyncio.timeout(self.settings.database_timeout_s):
                if await self.store.insert_outcome(outcome):
                    metrics.FEEDBACK.labels("database").inc()
                    return "database"
                existing = await self.store.prediction(prediction_id)
        except DATABASE_ERRORS as exc:
            self._database_failed(exc)
            return await self._spool_outcome(outcome)
        if existing is not None and existing["served"]:
            raise FeedbackExists(str(prediction_id))  # the insert found an outcome already there
        if existing is None and await asyncio.to_thread(self.spool.holds, "prediction", prediction_id):
            return await self._spool_outcome(outcome)
        raise UnknownPrediction(str(prediction_id))  # never made, or a shadow answer nobody saw

    # --8<-- [end:feedback]

    async def _spool_outcome(self, outcome: OutcomeRow) -> str:
        if await asyncio.to_thread(self.spool.holds, "outcome", outcome.prediction_id):
            raise FeedbackExists(str(outcome.prediction_id))
        await self._spool([outcome])
        metrics.FEEDBACK.labels("spool").inc()
        return "spool"

    # ----- experiments: create, change, evaluate -----------------------------------------------

    async def create(self, spec: ExperimentSpec, actor: str, reason: str) -> ExperimentState:
        unknown = [m for m in (spec.control, *spec.candidates) if m not in self.settings.models]
        if unknown:
            raise UnknownModel(f"unknown models {unknown}; this platform serves {self.settings.models}")
        event = await self._db(self.store.create(spec, actor, reason))
        metrics.DECISIONS.labels(spec.id, "created", actor).inc()
        self._fold(event)
        return self.states[spec.id]

    async def _db(self, work):
        try:
            return await work
        except DATABASE_ERRORS as exc:
            raise DatabaseUnavailable(str(exc)) from None

    async def _change(self, experiment_id: str, actor: str, decide_fn) -> tuple[ExperimentState, list[Event]]:
        state, written = await self._db(self.store.change(experiment_id, actor, decide_fn))
        for event in written:
            metrics.DECISIONS.labels(experiment_id, event.kind, actor).inc()
            if event.kind == "candidate_rolled_back":
                metrics.ROLLBACKS.labels(experiment_id, event.data["candidate"]).inc()
                log.warning("rolled back %s in %s: %s", event.data["candidate"], experiment_id, event.reason)
        self.states[experiment_id] = state
        self._export(state)
        return state, written

    # --8<-- [start:evaluate]
    async def evaluate(self, experiment_id: str) -> list[Event]:
        """One look by the controller: the evidence now, the decision, recorded with the evidence."""

        async def look(state: ExperimentState) -> list[Action]:
            now = datetime.now(UTC)
            evidence = await self.store.evidence(state, now)
            self._export_evidence(state, evidence)
            summary = {"evaluated_at": now.isoformat(), "evidence": evidence_summary(evidence)}
            return [Action(a.kind, a.reason, {**a.data, **summary}) for a in decide(state, evidence, now)]

        _, written = await self._change(experiment_id, "controller", look)
        return written

    # --8<-- [end:evaluate]

    def _export_evidence(self, state: ExperimentState, evidence: Evidence) -> None:
        exp = state.spec.id
        for candidate, rails in evidence.guardrails.items():
            metrics.GUARDRAIL.labels(exp, candidate, "error_rate").set(rails.error_rate)
            metrics.GUARDRAIL.labels(exp, candidate, "p95_latency_ms").set(rails.p95_latency_ms)
            metrics.ACCURACY_DIFFERENCE.labels(exp, candidate).set(evidence.tests[candidate].difference)
            metrics.P_VALUE.labels(exp, candidate).set(evidence.tests[candidate].p_value)
        metrics.SRM_P_VALUE.labels(exp).set(evidence.srm_p_value)

    async def set_stage(
        self, experiment_id: str, stage: Stage, actor: str, reason: str, winner: str | None
    ) -> ExperimentState:
        """A person's override, recorded like any decision (who, when, why)."""

        async def change(state: ExperimentState) -> list[Action]:
            spec, active = state.spec, state.active_candidates
            if state.stage.finished:
                raise InvalidChange(f"{experiment_id} is already {state.stage.value}")
            if stage == Stage.ROLLED_BACK:
                left = list(active)
                actions = []
                for candidate in active:
                    left.remove(candidate)
                    weights = (
                        all_control(spec) if not left or state.step is None else step_weights(spec, state.step, left)
                    )
                    actions.append(
                        Action("candidate_rolled_back", reason, {"candidate": candidate, "weights": weights})
                    )
                return actions
            if stage == Stage.SHADOW:
                return [Action("stage", reason, {"step": None, "stage": "shadow", "weights": all_control(spec)})]
            if stage == Stage.PROMOTED:
                if winner not in active:
                    raise InvalidChange(f"promote names the winner, one of the active candidates {active}")
                step = len(spec.ramp) - 1
                return [
                    Action(
                        "stage",
                        reason,
                        {
                            "step": step,
                            "stage": "promoted",
                            "weights": step_weights(spec, step, [winner]),
                            "winner": winner,
                        },
                    )
                ]
            step = 0 if stage == Stage.CANARY else spec.ab_step
            return [
                Action(
                    "stage",
                    reason,
                    {
                        "step": step,
                        "stage": stage_of_step(spec, step).value,
                        "weights": step_weights(spec, step, active),
                    },
                )
            ]

        state, _ = await self._change(experiment_id, actor, change)
        return state

    async def set_weights(
        self, experiment_id: str, weights: dict[str, float], actor: str, reason: str
    ) -> ExperimentState:
        async def change(state: ExperimentState) -> list[Action]:
            if state.stage not in (Stage.CANARY, Stage.AB):
                raise InvalidChange(f"weights are set in canary or ab, not in {state.stage.value}")
            unknown = set(weights) - {state.spec.control, *state.spec.candidates}
            if unknown:
                raise InvalidWeights(f"weights name arms the experiment does not have: {sorted(unknown)}")
            full = {arm: 0.0 for arm in (state.spec.control, *state.spec.candidates)} | weights
            try:
                check_weights(state.spec.control, state.spec.candidates, full)
            except ValueError as exc:
                raise InvalidWeights(str(exc)) from None
            if any(full[c] > 0 for c in state.rolled_back):
                raise InvalidWeights(f"rolled-back candidates take no traffic: {sorted(state.rolled_back)}")
            return [Action("weights", reason, {"weights": full})]

        state, _ = await self._change(experiment_id, actor, change)
        return state

    # ----- reading ---------------------------------------------------------------------------

    async def history(self, experiment_id: str) -> list[Event]:
        """Every event of one experiment, oldest first."""
        await self.state(experiment_id)  # 404 for an unknown one
        return await self._db(self.store.events(experiment_id))

    async def prediction(self, prediction_id: uuid.UUID) -> dict[str, Any]:
        """One stored prediction with its outcome, if any."""
        row = await self._db(self.store.prediction(prediction_id))
        if row is None:
            raise UnknownPrediction(str(prediction_id))
        return row

    async def list_states(self) -> list[ExperimentState]:
        """Every experiment's state, re-read first when the cache is stale (if the database answers)."""
        if self.states_stale:
            try:
                await self.refresh()
            except DATABASE_ERRORS as exc:
                log.warning("listing experiments from cached states: %s", exc)
        return list(self.states.values())

    # ----- report and replay -------------------------------------------------------------------

    async def report(self, experiment_id: str) -> dict[str, Any]:
        state = await self.state(experiment_id)
        now = datetime.now(UTC)
        evidence, summary = (
            await self._db(self.store.evidence(state, now)),
            await self._db(self.store.arm_summary(state)),
        )
        spec = state.spec
        arms = {}
        for arm in (spec.control, *spec.candidates):
            row = summary["served"].get(arm) or {}
            outcomes, correct = int(row.get("outcomes") or 0), int(row.get("correct") or 0)
            low, high = wilson_interval(correct, outcomes)
            shadow = summary["shadow"].get(arm)
            arms[arm] = {
                "role": "control" if arm == spec.control else "candidate",
                "weight": state.weights.get(arm, 0.0),
                "requests": int(row.get("requests") or 0),
                "units": int(row.get("units") or 0),
                "fallbacks": int(row.get("fallbacks") or 0),
                "outcomes": outcomes,
                "accuracy": correct / outcomes if outcomes else None,
                "accuracy_interval_95": [low, high] if outcomes else None,
                "p95_latency_ms": finite(float(row["p95"])) if row.get("p95") is not None else None,
                "shadow": None if shadow is None else _shadow_summary(shadow),
                "rolled_back": state.rolled_back.get(arm),
            }
        pending = decide(state, evidence, now)
        return {
            "experiment": experiment_id,
            "stage": state.stage.value,
            "step": state.step,
            "weights": state.weights,
            "winner": state.winner,
            "arms": arms,
            "tests": {c: asdict(t) for c, t in evidence.tests.items()},
            "guardrails": evidence_summary(evidence)["guardrails"],
            "srm": {"p_value": evidence.srm_p_value, "mismatch": evidence.srm_p_value < SRM_THRESHOLD},
            "decision_now": [{"kind": a.kind, "reason": a.reason, **a.data} for a in pending] or "hold",
            "assignment_cached": self.states_stale,
        }

    async def replay(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every decision the controller recorded, decided again from the state before it and the
        rows stored up to its moment: the same data must give the same decision."""
        history = await self._db(self.store.events(experiment_id))
        if not history:
            raise UnknownExperiment(experiment_id)
        checked, index = [], 0
        while index < len(history):
            event = history[index]
            if event.actor != "controller":
                index += 1
                continue
            batch = [
                e
                for e in history[index:]
                if e.actor == "controller" and e.data.get("evaluated_at") == event.data["evaluated_at"]
            ]
            before = replay(history[:index])
            at = datetime.fromisoformat(event.data["evaluated_at"])
            evidence = await self._db(self.store.evidence(before, at))
            again = decide(before, evidence, at)
            recorded = [(e.kind, e.data.get("candidate"), e.data.get("stage")) for e in batch]
            recomputed = [(a.kind, a.data.get("candidate"), a.data.get("stage")) for a in again]
            checked.append(
                {
                    "seq": [e.seq for e in batch],
                    "evaluated_at": event.data["evaluated_at"],
                    "recorded": [{"kind": e.kind, "reason": e.reason} for e in batch],
                    "recomputed": [{"kind": a.kind, "reason": a.reason} for a in again],
                    "same": recorded == recomputed,
                }
            )
            index += len(batch)
        return checked

    # ----- background work ---------------------------------------------------------------------

    def start_background(self) -> None:
        self._tasks = [
            asyncio.create_task(self._every(self.settings.state_refresh_s, self.refresh, "state refresh")),
            asyncio.create_task(self._every(self.settings.flush_interval_s, self.flush_spool, "spool flush")),
        ]
        if self.settings.controller_interval_s > 0:
            self._tasks.append(
                asyncio.create_task(self._every(self.settings.controller_interval_s, self.evaluate_all, "controller"))
            )

    async def stop_background(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _every(self, seconds: float, work, name: str) -> None:
        while True:
            try:
                await work()
            except DATABASE_ERRORS as exc:
                log.warning("%s: database unavailable (%s)", name, exc)
            except Exception:  # a bug in one round must not stop the loop
                log.exception("%s failed", name)
            metrics.STATE_AGE.set(time.monotonic() - self.refreshed_at if self.refreshed_at else float("inf"))
            await asyncio.sleep(seconds)

    async def flush_spool(self) -> None:
        while len(self.spool):
            last, predictions, outcomes = await asyncio.to_thread(self.spool.oldest, 500)
            try:
                unmatched = await self.store.write_spooled(predictions, outcomes)
            except DATABASE_ERRORS as exc:
                self._database_failed(exc)
                raise
            self._database_down_until = 0.0  # it answers again: writes go to it directly
            await asyncio.to_thread(self.spool.remove_through, last)
            log.info(
                "moved %d predictions and %d outcomes from the spool (%d unmatched)",
                len(predictions),
                len(outcomes),
                unmatched,
            )
            metrics.SPOOL_ENTRIES.set(len(self.spool))

    async def flush_spool_quietly(self) -> None:
        """At shutdown: move what can be moved; what cannot stays in the spool file for next time."""
        try:
            await self.flush_spool()
        except DATABASE_ERRORS:
            log.warning("shutting down with %d entries in the spool", len(self.spool))

    async def evaluate_all(self) -> None:
        for experiment_id, state in list(self.states.items()):
            if not state.stage.finished:
                await self.evaluate(experiment_id)


def _answer_row(answer: Sentiment, **fields: Any) -> PredictionRow:
    return PredictionRow(
        id=uuid.uuid4(), label=answer.label, scores=list(answer.scores.values()), latency_ms=answer.latency_ms, **fields
    )


def _shadow_row(served: PredictionRow, candidate: str, result: Sentiment | BaseException) -> PredictionRow:
    """A candidate's shadow answer (or its failure), tied to the answer that was served."""
    answer = None if isinstance(result, BaseException) else result
    return dataclasses.replace(
        served,
        id=uuid.uuid4(),
        arm=candidate,
        model=candidate,
        served=False,
        shadow_of=served.id,
        label=None if answer is None else answer.label,
        scores=None if answer is None else list(answer.scores.values()),
        latency_ms=0.0 if answer is None else answer.latency_ms,
        error=str(result) if answer is None else None,
        fallback=False,
    )


def _shadow_summary(row: dict[str, Any]) -> dict[str, Any]:
    requests, outcomes = int(row["requests"]), int(row["outcomes"])
    return {
        "requests": requests,
        "errors": int(row["errors"]),
        "agreement_with_control": int(row["agreed"]) / requests if requests else None,
        "outcomes": outcomes,
        "accuracy": int(row["correct"]) / outcomes if outcomes else None,
        "p95_latency_ms": None if row["p95"] is None else float(row["p95"]),
    }


def evidence_summary(evidence: Evidence) -> dict[str, Any]:
    """The evidence as recorded with each decision (JSON: NaN becomes null)."""
    return {
        "guardrails": {
            c: {
                "requests": g.requests,
                "errors": g.errors,
                "error_rate": g.error_rate,
                "p95_latency_ms": finite(g.p95_latency_ms),
            }
            for c, g in evidence.guardrails.items()
        },
        "tests": {
            c: {"difference": t.difference, "p_value": t.p_value, "looks": t.looks, "significant": t.significant}
            for c, t in evidence.tests.items()
        },
        "outcomes": evidence.outcomes,
        "srm_p_value": evidence.srm_p_value,
    }
