"""What every capacity part must write: one row per fraction of the closed loop's capacity, swept
lightest first, with Little's law's two sides, and a table and a chart that show them."""

from __future__ import annotations

import json
from pathlib import Path


def read_capacity(json_path: Path, png_path: Path, md_path: Path, fractions: tuple[float, ...]) -> tuple[dict, list]:
    """The result and its rows, once the files are checked against the sweep that was asked for."""
    result = json.loads(json_path.read_text())
    rows = result["results"]
    assert [r["fraction"] for r in rows] == list(fractions)
    offered = [r["offered_rps"] for r in rows]
    assert offered == sorted(offered) and len(set(offered)) == len(offered)  # lightest first, each rate once
    assert result["capacity_rps"] > 0 and result["knee_rps"] in (None, *offered)
    answered = [r for r in rows if r["sent"] > r["errors"]]  # a short run may draw no arrival, or see all refused
    assert answered and all(r["in_flight_seen"] >= 0 and r["littles_law_in_flight"] > 0 for r in answered)
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    table = md_path.read_text()
    assert table.startswith("| offered /s |") and table.count("\n| ") == len(rows)  # header + separator + rows
    return result, rows
