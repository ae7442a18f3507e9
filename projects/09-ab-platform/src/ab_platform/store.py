"""Everything the platform knows, in PostgreSQL: experiments as event histories, every prediction
(served or shadow) with the arm and model that made it, every outcome joined to its prediction.
The tables are made by the Alembic migrations in ab_platform/migrations/."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from psycopg.errors import UniqueViolation
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from ab_platform.controller import Action, Evidence, Guardrail
from ab_platform.experiments import Event, ExperimentSpec, ExperimentState, replay
from ab_platform.statistics import sample_ratio_p_value, sequential_decision


class ExperimentExists(Exception):
    pass


class UnknownExperiment(Exception):
    pass


@dataclass(frozen=True)
class PredictionRow:
    id: uuid.UUID
    experiment_id: str | None
    unit_id: str | None
    arm: str | None  # the arm the unit is assigned to
    model: str  # the model that made this answer
    label: str | None
    scores: list[float] | None
    latency_ms: float
    created_at: datetime
    served: bool = True  # False: a shadow call, never shown to the user
    shadow_of: uuid.UUID | None = None
    error: str | None = None
    fallback: bool = False  # the arm's model failed and control answered instead
    assignment_cached: bool = False  # assigned from a cached experiment state (PostgreSQL was unreachable)
    state_seq: int | None = None  # the experiment event the assignment was made under

    def values(self) -> tuple:
        """In the column order of INSERT_PREDICTION."""
        return tuple(getattr(self, column) for column in PREDICTION_COLUMNS)


PREDICTION_COLUMNS = (
    "id",
    "experiment_id",
    "unit_id",
    "arm",
    "model",
    "served",
    "shadow_of",
    "label",
    "scores",
    "latency_ms",
    "error",
    "fallback",
    "assignment_cached",
    "state_seq",
    "created_at",
)


@dataclass(frozen=True)
class OutcomeRow:
    prediction_id: uuid.UUID
    true_label: str | None
    correct: bool | None  # given directly, or derived from true_label when it is joined
    received_at: datetime


INSERT_PREDICTION = (
    f"INSERT INTO predictions ({', '.join(PREDICTION_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(PREDICTION_COLUMNS))}) ON CONFLICT (id) DO NOTHING"
)

# The outcome is stored only if its prediction is there; correct is derived from a true label.
INSERT_OUTCOME = """
INSERT INTO outcomes (prediction_id, true_label, correct, received_at)
SELECT p.id, %(true_label)s, coalesce(%(correct)s, p.label = %(true_label)s), %(received_at)s
FROM predictions p WHERE p.id = %(prediction_id)s AND p.served
ON CONFLICT (prediction_id) DO NOTHING
RETURNING prediction_id"""


def _event(row: dict[str, Any]) -> Event:
    return Event(row["seq"], row["experiment_id"], row["at"], row["actor"], row["kind"], row["reason"], row["data"])


class Store:
    def __init__(self, url: str, timeout_s: float):
        self.pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=8,
            open=False,
            timeout=timeout_s,
            kwargs={"connect_timeout": max(1, int(timeout_s))},
        )

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> bool:
        try:
            async with self.pool.connection() as conn:
                await conn.execute("SELECT 1")
            return True
        except Exception:  # any failure to reach the database means "not ready"
            return False

    # ----- experiments -----------------------------------------------------------------------

    async def events(self, experiment_id: str | None = None, after_seq: int = 0) -> list[Event]:
        query = "SELECT * FROM experiment_events WHERE seq > %s"
        params: list[Any] = [after_seq]
        if experiment_id is not None:
            query += " AND experiment_id = %s"
            params.append(experiment_id)
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query + " ORDER BY seq", params)
            return [_event(row) for row in await cur.fetchall()]

    async def create(self, spec: ExperimentSpec, actor: str, reason: str) -> Event:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            try:
                await cur.execute("INSERT INTO experiments (id) VALUES (%s)", [spec.id])
            except UniqueViolation:
                raise ExperimentExists(spec.id) from None
            await cur.execute(
                "INSERT INTO experiment_events (experiment_id, actor, kind, reason, data)"
                " VALUES (%s, %s, 'created', %s, %s) RETURNING *",
                [spec.id, actor, reason, Jsonb({"spec": spec.model_dump(mode="json")})],
            )
            row = await cur.fetchone()
            assert row is not None
            return _event(row)

    # --8<-- [start:change]
    async def change(
        self, experiment_id: str, actor: str, decide: Callable[[ExperimentState], Awaitable[Sequence[Action]]]
    ) -> tuple[ExperimentState, list[Event]]:
        """Decide on the latest state and record the decision, with the experiment's row locked: a
        person and the controller (or two API instances) can never act on a state already changed."""
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute("SELECT id FROM experiments WHERE id = %s FOR UPDATE", [experiment_id])
            if await cur.fetchone() is None:
                raise UnknownExperiment(experiment_id)
            await cur.execute("SELECT * FROM experiment_events WHERE experiment_id = %s ORDER BY seq", [experiment_id])
            history = [_event(row) for row in await cur.fetchall()]
            state = replay(history)
            written = []
            for action in await decide(state):
                await cur.execute(
                    "INSERT INTO experiment_events (experiment_id, actor, kind, reason, data)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                    [experiment_id, actor, action.kind, action.reason, Jsonb(action.data)],
                )
                row = await cur.fetchone()
                assert row is not None
                written.append(_event(row))
            return replay(history + written), written

    # --8<-- [end:change]

    # ----- predictions and outcomes ------------------------------------------------------------

    async def insert_predictions(self, rows: Sequence[PredictionRow]) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(INSERT_PREDICTION, [r.values() for r in rows])

    async def insert_outcome(self, outcome: OutcomeRow) -> bool:
        """True if stored; False if its prediction is not in the database (or already has one)."""
        async with self.pool.connection() as conn, conn.cursor() as cur:
            await cur.execute(INSERT_OUTCOME, _outcome_params(outcome))
            return await cur.fetchone() is not None

    async def prediction(self, prediction_id: uuid.UUID) -> dict[str, Any] | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT p.*, o.true_label AS outcome_label, o.correct AS outcome_correct, o.received_at"
                " FROM predictions p LEFT JOIN outcomes o ON o.prediction_id = p.id WHERE p.id = %s",
                [prediction_id],
            )
            return await cur.fetchone()

    async def write_spooled(self, predictions: Sequence[PredictionRow], outcomes: Sequence[OutcomeRow]) -> int:
        """One transaction for a batch from the spool (predictions first: outcomes refer to them).
        Outcomes whose prediction never arrived are kept in unmatched_outcomes, not dropped."""
        unmatched = 0
        async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            if predictions:
                await cur.executemany(INSERT_PREDICTION, [r.values() for r in predictions])
            for outcome in outcomes:
                await cur.execute(INSERT_OUTCOME, _outcome_params(outcome))
                if await cur.fetchone() is None:
                    await cur.execute("SELECT 1 FROM outcomes WHERE prediction_id = %s", [outcome.prediction_id])
                    if await cur.fetchone() is None:
                        unmatched += 1
                        await cur.execute(
                            "INSERT INTO unmatched_outcomes (prediction_id, true_label, correct, received_at)"
                            " VALUES (%s, %s, %s, %s)",
                            [outcome.prediction_id, outcome.true_label, outcome.correct, outcome.received_at],
                        )
        return unmatched

    # ----- evidence ----------------------------------------------------------------------------

    # --8<-- [start:evidence]
    async def evidence(self, state: ExperimentState, until: datetime) -> Evidence:
        """What the controller decides on, from the rows stored up to ``until`` (now, or the moment
        of a past decision in a replay)."""
        spec, exp = state.spec, state.spec.id
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            guardrails = {}
            for candidate in spec.candidates:
                # In shadow the candidate's own calls are its shadow calls; later, the calls it served.
                await cur.execute(
                    "SELECT count(*) AS requests, count(*) FILTER (WHERE error IS NOT NULL) AS errors,"
                    " percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE error IS NULL) AS p95"
                    " FROM predictions WHERE experiment_id = %s AND created_at >= %s AND created_at <= %s"
                    " AND (CASE WHEN %s THEN NOT served AND model = %s ELSE served AND arm = %s END)",
                    [exp, state.step_started_at, until, state.step is None, candidate, candidate],
                )
                row = await cur.fetchone()
                assert row is not None
                p95 = float("nan") if row["p95"] is None else float(row["p95"])
                guardrails[candidate] = Guardrail(row["requests"], row["errors"], p95)

            # Outcomes in arrival order, of answers each arm's own model gave (a fallback is neither).
            since = state.traffic_since or until
            await cur.execute(
                "SELECT p.arm, o.correct FROM outcomes o JOIN predictions p ON p.id = o.prediction_id"
                " WHERE p.experiment_id = %s AND p.served AND NOT p.fallback AND p.created_at >= %s"
                " AND o.received_at <= %s ORDER BY o.received_at, o.prediction_id",
                [exp, since, until],
            )
            stream = await cur.fetchall()
            await cur.execute(
                "SELECT arm, count(DISTINCT unit_id) AS units FROM predictions WHERE experiment_id = %s"
                " AND served AND created_at >= %s AND created_at <= %s GROUP BY arm",
                [exp, state.weights_since, until],
            )
            units = {row["arm"]: row["units"] for row in await cur.fetchall()}

        arms = np.array([row["arm"] for row in stream], dtype=object)
        correct = np.array([bool(row["correct"]) for row in stream], dtype=bool)
        tests, outcomes = {}, {spec.control: int((arms == spec.control).sum())}
        for candidate in spec.candidates:
            pair = (arms == spec.control) | (arms == candidate)
            tests[candidate] = sequential_decision(
                arms[pair] == candidate, correct[pair], spec.decision.tau, spec.decision.alpha
            )
            outcomes[candidate] = int((arms == candidate).sum())
        srm = sample_ratio_p_value(units, state.weights) if state.step is not None else 1.0
        return Evidence(guardrails, tests, outcomes, srm)

    # --8<-- [end:evidence]

    async def arm_summary(self, state: ExperimentState) -> dict[str, dict[str, Any]]:
        """Per arm, over the whole experiment: requests, units, outcomes and how many were right;
        shadow calls of each candidate scored against the true labels given for the served answer."""
        exp = state.spec.id
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT p.arm, count(*) AS requests, count(DISTINCT p.unit_id) AS units,"
                " count(*) FILTER (WHERE p.fallback) AS fallbacks,"
                " count(o.prediction_id) FILTER (WHERE NOT p.fallback) AS outcomes,"
                " count(*) FILTER (WHERE o.correct AND NOT p.fallback) AS correct,"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY p.latency_ms) AS p95"
                " FROM predictions p LEFT JOIN outcomes o ON o.prediction_id = p.id"
                " WHERE p.experiment_id = %s AND p.served GROUP BY p.arm",
                [exp],
            )
            served = {row["arm"]: row for row in await cur.fetchall()}
            await cur.execute(
                "SELECT s.model AS arm, count(*) AS requests, count(*) FILTER (WHERE s.error IS NOT NULL) AS errors,"
                " count(o.true_label) AS outcomes, count(*) FILTER (WHERE s.label = o.true_label) AS correct,"
                " count(*) FILTER (WHERE s.label = p.label) AS agreed,"
                " percentile_cont(0.95) WITHIN GROUP (ORDER BY s.latency_ms) AS p95"
                " FROM predictions s JOIN predictions p ON p.id = s.shadow_of"
                " LEFT JOIN outcomes o ON o.prediction_id = p.id"
                " WHERE s.experiment_id = %s AND NOT s.served GROUP BY s.model",
                [exp],
            )
            shadow = {row["arm"]: row for row in await cur.fetchall()}
        return {"served": served, "shadow": shadow}


def _outcome_params(outcome: OutcomeRow) -> dict[str, Any]:
    return {
        "prediction_id": outcome.prediction_id,
        "true_label": outcome.true_label,
        "correct": outcome.correct,
        "received_at": outcome.received_at,
    }
