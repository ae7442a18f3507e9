"""Per-frame scores -> flagged segments of the video."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    peak_score: float
    peak_at_s: float


# --8<-- [start:segments]
def flagged_segments(scores: list[tuple[float, float]], threshold: float, interval_s: float) -> list[Segment]:
    """``scores``: (time, score) of each sampled frame, in time order. Consecutive frames at or above
    the threshold form one segment; a segment lasts until the next sample after its last flagged frame
    (the frames in between were not looked at, so they are counted in)."""
    segments: list[Segment] = []
    current: list[tuple[float, float]] = []
    for time_s, score in [*scores, (float("inf"), -1.0)]:  # a sentinel closes the last segment
        if score >= threshold:
            current.append((time_s, score))
            continue
        if current:
            peak_at, peak = max(current, key=lambda item: item[1])
            segments.append(Segment(current[0][0], round(current[-1][0] + interval_s, 3), round(peak, 4), peak_at))
            current = []
    return segments


# --8<-- [end:segments]
