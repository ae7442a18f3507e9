"""Simulated experiments: how often each decision rule declares a difference, when there is none
(its false positive rate) and when there is one (its power), if it is looked at as results arrive.

Both rules see the same simulated streams of outcomes (each a unit in arm A or B, right or wrong):
- the platform's rule, the mSPRT (ab_platform.statistics), stops at the first look where its
  statistic reaches 1/alpha;
- the naive rule runs a two-sample t-test at every look and stops at the first p < alpha, as a
  dashboard refreshed every few minutes invites one to do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ab_platform.statistics import mixture_likelihood_ratio


@dataclass(frozen=True)
class Rates:
    msprt: float
    naive: float
    msprt_median_outcomes: float | None  # median outcomes at the stop, among the runs that stopped


def _streams(runs: int, outcomes: int, accuracy_a: float, accuracy_b: float, seed: int):
    rng = np.random.default_rng(seed)
    arm_b = rng.random((runs, outcomes)) < 0.5
    correct = np.where(arm_b, rng.random((runs, outcomes)) < accuracy_b, rng.random((runs, outcomes)) < accuracy_a)
    return arm_b, correct


# --8<-- [start:simulate]
def simulate(
    accuracy_a: float,
    accuracy_b: float,
    outcomes: int,
    looks: int,
    runs: int = 2000,
    alpha: float = 0.05,
    tau: float = 0.05,
    seed: int = 0,
) -> Rates:
    """Share of ``runs`` experiments in which each rule declared a difference at any of ``looks``
    evenly spaced looks over ``outcomes`` outcomes."""
    arm_b, correct = _streams(runs, outcomes, accuracy_a, accuracy_b, seed)
    at = np.linspace(outcomes / looks, outcomes, looks).astype(int)
    n_b = np.cumsum(arm_b, axis=1)[:, at - 1]
    n_a = at[None, :] - n_b
    s_b = np.cumsum(correct & arm_b, axis=1)[:, at - 1]
    s_a = np.cumsum(correct & ~arm_b, axis=1)[:, at - 1]
    ratio = mixture_likelihood_ratio(s_a, n_a, s_b, n_b, tau)
    msprt_hit = (ratio >= 1 / alpha).any(axis=1)
    first = np.argmax(ratio >= 1 / alpha, axis=1)
    # Welch's t-test on the 0/1 outcomes, from the counts: what scipy.stats.ttest_ind(a, b,
    # equal_var=False) computes, vectorised over runs and looks (a unit test checks it is the same).
    p = welch_p_value(s_a, n_a, s_b, n_b)
    naive_hit = (p < alpha).any(axis=1)
    stops = at[first[msprt_hit]]
    return Rates(float(msprt_hit.mean()), float(naive_hit.mean()), float(np.median(stops)) if len(stops) else None)


# --8<-- [end:simulate]


def welch_p_value(s_a: np.ndarray, n_a: np.ndarray, s_b: np.ndarray, n_b: np.ndarray) -> np.ndarray:
    """Two-sided p-value of Welch's t-test between two samples of 0/1 values given by their counts."""
    n_a, n_b = np.maximum(n_a, 2), np.maximum(n_b, 2)
    rate_a, rate_b = s_a / n_a, s_b / n_b
    var_a = rate_a * (1 - rate_a) * n_a / (n_a - 1)  # sample variances (ddof=1)
    var_b = rate_b * (1 - rate_b) * n_b / (n_b - 1)
    se2 = var_a / n_a + var_b / n_b
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se2 > 0, (rate_b - rate_a) / np.sqrt(se2), 0.0)
        df = np.where(se2 > 0, se2**2 / ((var_a / n_a) ** 2 / (n_a - 1) + (var_b / n_b) ** 2 / (n_b - 1)), 1.0)
    return np.where(se2 > 0, 2 * stats.t.sf(np.abs(t), df), 1.0)
