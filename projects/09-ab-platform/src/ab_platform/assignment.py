"""Which arm of an experiment serves a unit (a user or a session): deterministic, sticky, and
independent across experiments, with weights that can change without reshuffling.

Each unit has a fixed position on [0, 1): a hash of (experiment id, unit id). Including the
experiment id makes the positions of one experiment unrelated to another's, so being in the
candidate arm of one test says nothing about the next. Candidate i of k owns a lane that starts at
i/k; it serves the units whose position lies in [i/k, i/k + weight) (around the circle, when it is
the only candidate left). Raising a candidate's weight only adds the units next to its interval,
all taken from control; lowering it only hands its own units back to control. No unit moves between
candidates, and no unit moves at all beyond what the change in weight requires."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence


# --8<-- [start:position]
def position(experiment_id: str, unit_id: str) -> float:
    """The unit's fixed place on [0, 1) in this experiment: the first 8 bytes of a SHA-256."""
    digest = hashlib.sha256(f"{experiment_id}\x1f{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def lane_start(candidates: Sequence[str], candidate: str) -> float:
    return candidates.index(candidate) / len(candidates)


def arm_at(point: float, control: str, candidates: Sequence[str], weights: Mapping[str, float]) -> str:
    """The arm serving a unit at ``point``: a candidate whose interval holds it, else control."""
    for candidate in candidates:
        weight = weights.get(candidate, 0.0)
        if weight > 0 and (point - lane_start(candidates, candidate)) % 1.0 < weight:
            return candidate
    return control


# --8<-- [end:position]


def check_weights(control: str, candidates: Sequence[str], weights: Mapping[str, float]) -> None:
    """Weights name the experiment's arms, sum to 1, and leave the candidates' intervals apart:
    while two or more candidates take traffic, each stays inside its lane (at most 1/k)."""
    arms = {control, *candidates}
    if set(weights) - arms:
        raise ValueError(f"weights name arms the experiment does not have: {sorted(set(weights) - arms)}")
    if any(not 0 <= w <= 1 for w in weights.values()):
        raise ValueError("every weight lies between 0 and 1")
    if abs(sum(weights.values()) - 1) > 1e-9:
        raise ValueError(f"weights sum to {sum(weights.values()):.6g}, not 1")
    active = [c for c in candidates if weights.get(c, 0) > 0]
    lane = 1 / len(candidates)
    if len(active) > 1 and any(weights[c] > lane + 1e-12 for c in active):
        raise ValueError(f"with {len(candidates)} candidates each takes at most {lane:.3g} while others run")
