"""Scoring a batch of transactions: the three models in parallel (fan-out from the service, each
under its own deadline, a failing one left out) or Triton's ensemble (one round trip), then the
vote and the decision."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np

from fraud_ensemble import metrics
from fraud_ensemble.services.voting import EnsembleSpec, NoQuorum, renormalised, vote
from fraud_ensemble.settings import Settings
from fraud_ensemble.triton_client import ModelFailed, TritonScorer

ENSEMBLE_MODEL = "fraud_ensemble"


@dataclass
class Scored:
    probabilities: np.ndarray  # the vote, per transaction
    scores: dict[str, np.ndarray]  # each voter that answered, per transaction
    weights: dict[str, float]  # the weights used (renormalised when a model is missing)
    missing: dict[str, str] = field(default_factory=dict)  # voter -> "timeout" | "error"
    model_ms: dict[str, float] = field(default_factory=dict)

    @property
    def degraded(self) -> bool:
        return bool(self.missing)


class Scorer:
    def __init__(self, triton: TritonScorer, spec: EnsembleSpec, settings: Settings):
        self.triton, self.spec, self.settings = triton, spec, settings

    async def score(self, features: np.ndarray) -> Scored:
        if self.settings.mode == "ensemble":
            return await self.through_ensemble(features)
        return await self.fan_out(features)

    # --8<-- [start:fanout]
    async def fan_out(self, features: np.ndarray) -> Scored:
        """Every voter at once, each with its own deadline; a voter that fails or is late is left
        out and the others' weights renormalised; fewer voters than the quorum is NoQuorum."""
        deadline_s = self.settings.model_deadline_ms / 1000
        voters = list(self.settings.models)
        results = await asyncio.gather(*(self._timed(v, features, deadline_s) for v in voters), return_exceptions=True)
        scored = Scored(np.zeros(len(features)), {}, {})
        for voter, result in zip(voters, results, strict=True):
            if isinstance(result, ModelFailed):
                reason = "timeout" if result.timed_out else "error"
                scored.missing[voter] = reason
                metrics.MODEL_FAILURES.labels(voter, reason).inc()
            elif isinstance(result, BaseException):
                raise result
            else:
                scored.scores[voter], scored.model_ms[voter] = result
        if len(scored.scores) < self.settings.quorum:
            metrics.NO_QUORUM.inc()
            raise NoQuorum(
                f"{len(scored.scores)} of {len(voters)} models answered ({scored.missing}); "
                f"the quorum is {self.settings.quorum}"
            )
        scored.weights = renormalised({v: self.spec.weights[v] for v in voters}, set(scored.scores))
        scored.probabilities = vote(scored.scores, scored.weights)
        if scored.degraded:
            metrics.DEGRADED.inc()
        return scored

    async def _timed(self, voter: str, features: np.ndarray, deadline_s: float) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        scores = await self.triton.fraud_probabilities(self.settings.models[voter], features, deadline_s)
        elapsed = time.perf_counter() - started
        metrics.MODEL_SECONDS.labels(voter).observe(elapsed)
        return scores, round(elapsed * 1000, 2)

    # --8<-- [end:fanout]

    async def through_ensemble(self, features: np.ndarray) -> Scored:
        """One call; the vote happens inside Triton (fraud_vote). It fails whole: no fallback."""
        voters = list(self.spec.weights)
        outputs = ["fraud_probability", *(f"{v}_probabilities" for v in voters)]
        started = time.perf_counter()
        vote_out, *per_model = await self.triton.infer(ENSEMBLE_MODEL, features, outputs, deadline_s=10)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        return Scored(
            vote_out[:, 0].astype(np.float64),
            {v: p[:, 1].astype(np.float64) for v, p in zip(voters, per_model, strict=True)},
            dict(self.spec.weights),
            model_ms={ENSEMBLE_MODEL: elapsed_ms},
        )

    async def ready(self) -> list[str]:
        """The models this mode needs that Triton does not report ready."""
        needed = [ENSEMBLE_MODEL] if self.settings.mode == "ensemble" else list(self.settings.models.values())
        states = await asyncio.gather(*(self.triton.is_ready(m) for m in needed))
        return [m for m, ok in zip(needed, states, strict=True) if not ok]
