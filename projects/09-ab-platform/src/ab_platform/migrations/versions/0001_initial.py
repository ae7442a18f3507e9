"""Experiments as event histories, predictions, outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# --8<-- [start:schema]
def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE experiments (
            id          text PRIMARY KEY,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        -- Every change to an experiment is a row; its state is the fold of its rows (experiments.py).
        CREATE TABLE experiment_events (
            seq            bigserial PRIMARY KEY,
            experiment_id  text NOT NULL REFERENCES experiments(id),
            at             timestamptz NOT NULL DEFAULT clock_timestamp(),
            actor          text NOT NULL,          -- who: a person's name, or "controller"
            kind           text NOT NULL,          -- created | stage | weights | candidate_rolled_back
            reason         text NOT NULL,          -- why, in words
            data           jsonb NOT NULL
        );
        CREATE INDEX experiment_events_by_experiment ON experiment_events (experiment_id, seq);

        CREATE TABLE predictions (
            id                 uuid PRIMARY KEY,
            experiment_id      text REFERENCES experiments(id),
            unit_id            text,
            arm                text,                -- the arm the unit is assigned to
            model              text NOT NULL,       -- the model that produced this answer
            served             boolean NOT NULL,    -- false: a shadow call, never shown
            shadow_of          uuid REFERENCES predictions(id),
            label              text,
            scores             real[],
            latency_ms         real NOT NULL,
            error              text,                -- why the arm's model gave no answer
            fallback           boolean NOT NULL DEFAULT false,  -- control answered for a failed candidate
            assignment_cached  boolean NOT NULL DEFAULT false,  -- assigned while PostgreSQL was unreachable
            state_seq          bigint,              -- the experiment event the assignment followed
            created_at         timestamptz NOT NULL
        );
        CREATE INDEX predictions_by_experiment ON predictions (experiment_id, created_at);
        CREATE INDEX predictions_by_shadow ON predictions (shadow_of) WHERE shadow_of IS NOT NULL;

        -- A delayed label or a right/wrong verdict, joined to the prediction it judges.
        CREATE TABLE outcomes (
            prediction_id  uuid PRIMARY KEY REFERENCES predictions(id),
            true_label     text,
            correct        boolean NOT NULL,
            received_at    timestamptz NOT NULL
        );
        CREATE INDEX outcomes_by_arrival ON outcomes (received_at);

        -- Feedback accepted while the database was down whose prediction never arrived: kept, not lost.
        CREATE TABLE unmatched_outcomes (
            id             bigserial PRIMARY KEY,
            prediction_id  uuid NOT NULL,
            true_label     text,
            correct        boolean,
            received_at    timestamptz NOT NULL
        );
        """
    )


# --8<-- [end:schema]


def downgrade() -> None:
    op.execute("DROP TABLE unmatched_outcomes, outcomes, predictions, experiment_events, experiments")
