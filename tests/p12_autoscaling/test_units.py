"""The pieces on their own: the open-loop trace, the cost integral, the KEDA + HPA calculation,
the policy's validation."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from study.local.autoscaling.bench import TRACE, arrivals, keda_hpa_replicas, replica_seconds

from autoscaling.settings import ScalingPolicy


def test_arrivals_are_poisson_at_each_phases_rate():
    schedule = arrivals(scale=20, seed=1)
    times = np.array([t for t, _ in schedule])
    assert np.all(np.diff(times) > 0)
    start = 0.0
    for phase, seconds, rate in TRACE:
        in_phase = [t for t, p in schedule if p == phase]
        assert all(start <= t < start + seconds * 20 for t in in_phase)
        if rate == 0:
            assert in_phase == []
        else:
            expected = rate * seconds * 20
            assert abs(len(in_phase) - expected) < 4 * np.sqrt(expected)  # within four standard deviations
        start += seconds * 20


def test_arrivals_do_not_depend_on_answers_only_on_the_seed():
    assert arrivals(1.0, seed=3) == arrivals(1.0, seed=3) != arrivals(1.0, seed=4)


def test_replica_seconds_is_the_area_under_running_and_starting_replicas():
    samples = [
        {"t": 0, "replicas": {}},
        {"t": 2, "replicas": {"STARTING": 1}},
        {"t": 5, "replicas": {"RUNNING": 1}},
        {"t": 6, "replicas": {"RUNNING": 2, "STOPPING": 1}},
        {"t": 10, "replicas": {}},
    ]
    assert replica_seconds(samples) == 0 * 2 + 1 * 3 + 1 * 1 + 2 * 4


def test_keda_activates_from_zero_scales_on_the_average_and_waits_out_the_cooldown():
    demand = [(t, 0.0) for t in range(5)] + [(t, 9.0) for t in range(5, 10)] + [(t, 0.0) for t in range(10, 40)]
    decided = dict(keda_hpa_replicas(demand, target=4, max_replicas=2, cooldown_s=20, scale_down_window_s=5))
    assert decided[4] == 0 and decided[5] == 1  # activation: any work wakes one replica
    assert decided[6] == 2  # then ceil(9 / 4) = 3, capped at 2
    assert decided[12] == 2 and decided[16] == 1  # down only after the stabilisation window
    assert decided[28] == 1 and decided[30] == 0  # to zero after the cooldown with no work


def test_the_hpa_ignores_changes_within_its_tolerance():
    demand = [(0, 8.0), (1, 8.0), (2, 8.5), (3, 8.5)]
    assert [r for _, r in keda_hpa_replicas(demand, target=4, max_replicas=4)] == [1, 2, 2, 2]


@pytest.mark.parametrize("bad", [{"max_replicas": 0}, {"min_replicas": -1}, {"target_ongoing_requests": 0}])
def test_a_policy_out_of_range_is_refused(bad):
    with pytest.raises(ValidationError):
        ScalingPolicy(**bad)
