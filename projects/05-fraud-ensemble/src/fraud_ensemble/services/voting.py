"""The vote: weights and threshold fitted at build time, and the weighted mean over the models
that answered, with their weights renormalised to sum to one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class EnsembleSpec:
    weights: dict[str, float]  # by voter: gbm, logreg, mlp
    threshold: float  # at or above it, the decision is "fraud" (chosen to minimise expected cost)
    features: list[str]  # the columns the models read, in order

    @classmethod
    def load(cls, path: Path) -> EnsembleSpec:
        spec = json.loads(path.read_text())
        return cls(spec["weights"], spec["threshold"], spec["features"])


class NoQuorum(RuntimeError):
    """Too few models answered for the vote to be trusted."""


# --8<-- [start:vote]
def renormalised(weights: dict[str, float], present: set[str]) -> dict[str, float]:
    """The weights of the models that answered, scaled to sum to one."""
    total = sum(weights[name] for name in present)
    if total <= 0:
        raise NoQuorum(f"the models that answered ({', '.join(sorted(present)) or 'none'}) carry no weight")
    return {name: weights[name] / total for name in weights if name in present}


def vote(scores: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted soft vote: the weighted mean of each model's fraud probability."""
    return sum((weights[name] * scores[name] for name in weights), np.zeros_like(next(iter(scores.values()))))


# --8<-- [end:vote]
