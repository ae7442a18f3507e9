"""Project 05 fixtures: Triton (three voters, the vote, the ensemble, a slowed voter) and the API,
started once per session, and transactions from the held-out period."""

from __future__ import annotations

import pytest
from study.local.fraud_ensemble.stack import running_stack, test_period

from stack_fixtures import stack_fixtures

local_stack, stack, base_url, client = stack_fixtures(
    lambda run_dir: running_stack(run_dir, report=lambda _: None), client_timeout_s=60
)


@pytest.fixture(scope="session")
def held_out():
    """(columns, rows, labels) of the last 20 % of the time line, which no model choice has seen."""
    return test_period(lambda _: None)


@pytest.fixture(scope="session")
def transactions(held_out) -> list[dict]:
    """A few real transactions of the held-out period, frauds first."""
    columns, rows, labels = held_out
    picked = [*rows[labels == 1][:3], *rows[labels == 0][:5]]
    return [dict(zip(columns, map(float, row), strict=True)) for row in picked]
