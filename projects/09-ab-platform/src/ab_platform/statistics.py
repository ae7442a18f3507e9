"""The statistics the platform decides with: a sequential test that may be looked at after every
outcome, intervals for each arm's accuracy, the sample-ratio-mismatch check and a latency quantile.

Why sequential: a fixed-horizon test (a t-test or z-test) promises its 5 % error rate only if it is
looked at once, at a sample size chosen in advance. Checked every minute and stopped at the first
p < 0.05, it declares a difference that is not there far more often (the benchmark measures how
often). The mixture sequential probability ratio test (mSPRT) gives a statistic that can be watched
continuously: the chance that it *ever* crosses 1/alpha when the arms are equal is at most alpha."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


# --8<-- [start:msprt]
def mixture_likelihood_ratio(
    successes_a: np.ndarray, n_a: np.ndarray, successes_b: np.ndarray, n_b: np.ndarray, tau: float
) -> np.ndarray:
    """mSPRT statistic for "accuracy of B minus accuracy of A is zero", at every look given.

    The difference theta is estimated as the difference of the two proportions, with variance V
    (the sum of the two binomial variances). Against "theta = 0", average the likelihood ratio over a
    normal prior theta ~ N(0, tau^2) (tau: the size of effect one expects, here in accuracy points):
    Lambda = sqrt(V / (V + tau^2)) * exp(theta^2 tau^2 / (2 V (V + tau^2))).
    Reject when Lambda >= 1/alpha; 1/max(Lambda so far) is an always-valid p-value."""
    n_a, n_b = np.maximum(n_a, 1), np.maximum(n_b, 1)
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    # Variance from slightly shrunk rates, so that 0/5 or 5/5 does not give V = 0.
    shrunk_a, shrunk_b = (successes_a + 0.5) / (n_a + 1), (successes_b + 0.5) / (n_b + 1)
    variance = shrunk_a * (1 - shrunk_a) / n_a + shrunk_b * (1 - shrunk_b) / n_b
    theta = rate_b - rate_a
    tau2 = tau * tau
    return np.sqrt(variance / (variance + tau2)) * np.exp(theta**2 * tau2 / (2 * variance * (variance + tau2)))


# --8<-- [end:msprt]


@dataclass(frozen=True)
class SequentialResult:
    looks: int  # outcomes the test has seen (each one a look)
    difference: float  # accuracy of the candidate minus control's, now
    likelihood_ratio: float  # now
    max_likelihood_ratio: float  # the largest at any look so far
    p_value: float  # always valid: min(1, 1 / max_likelihood_ratio)
    significant: bool
    crossed_at: int | None  # the look at which it first crossed 1/alpha
    direction: int  # +1 candidate better, -1 worse, 0 not significant (sign at the crossing)


def sequential_decision(
    arm_is_candidate: np.ndarray, correct: np.ndarray, tau: float, alpha: float
) -> SequentialResult:
    """The test over a stream of outcomes in arrival order: one look after each outcome."""
    arm_is_candidate = np.asarray(arm_is_candidate, bool)
    correct = np.asarray(correct, bool)
    n_b = np.cumsum(arm_is_candidate)
    n_a = np.cumsum(~arm_is_candidate)
    s_b = np.cumsum(correct & arm_is_candidate)
    s_a = np.cumsum(correct & ~arm_is_candidate)
    if len(correct) == 0:
        return SequentialResult(0, 0.0, 1.0, 1.0, 1.0, False, None, 0)
    both = (n_a > 0) & (n_b > 0)
    ratio = np.where(both, mixture_likelihood_ratio(s_a, n_a, s_b, n_b, tau), 1.0)
    crossed = np.flatnonzero(ratio >= 1 / alpha)
    first = int(crossed[0]) if len(crossed) else None
    difference = s_b / np.maximum(n_b, 1) - s_a / np.maximum(n_a, 1)
    peak = float(ratio.max())
    return SequentialResult(
        looks=len(correct),
        difference=float(difference[-1]),
        likelihood_ratio=float(ratio[-1]),
        max_likelihood_ratio=peak,
        p_value=min(1.0, 1.0 / peak),
        significant=first is not None,
        crossed_at=None if first is None else first + 1,
        direction=0 if first is None else int(np.sign(difference[first])),
    )


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The accuracy's interval (Wilson score), from scipy; (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    interval = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


# --8<-- [start:srm]
def sample_ratio_p_value(observed: dict[str, int], weights: dict[str, float]) -> float:
    """Sample-ratio mismatch: do the units seen per arm fit the weights? A chi-square goodness of
    fit; a tiny p-value (the platform uses < 0.001) means assignment or logging is broken (a
    redirect that drops one arm's users, a cache that serves one arm only), and no comparison of the
    arms can be trusted until it is found."""
    arms = [arm for arm, w in weights.items() if w > 0]
    total = sum(observed.get(arm, 0) for arm in arms)
    if total == 0 or len(arms) < 2:
        return 1.0
    expected = [weights[arm] * total for arm in arms]
    return float(stats.chisquare([observed.get(arm, 0) for arm in arms], expected).pvalue)


# --8<-- [end:srm]
