"""Reading capacity from an open-loop sweep: the table and the chart that projects 01 and 02 publish.

The sweep's rates are fractions of the capacity a closed loop measured just before (``capacity_rps``),
so the curve has the same shape on any machine: flat while the service keeps up, a knee, then a
queue that grows for as long as arrivals outpace it."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from study.bench.load import OpenLoopResult


def capacity_rows(results: list[OpenLoopResult], capacity_rps: float, extra: list[dict] | None = None) -> list[dict]:
    """One row per rate: the open loop's figures, utilisation (ρ = achieved / capacity) and Little's
    law's L = λW beside the in-flight count that arrivals saw. ``extra``: more fields per row."""
    more_per_row: list[dict] = extra or [{} for _ in results]
    return [
        {
            "fraction": round(result.offered_rps / capacity_rps, 2),  # of capacity, as the sweep asked
            **result.as_dict(),
            "utilisation": round(result.achieved_rps / capacity_rps, 3),
            **more,
        }
        for result, more in zip(results, more_per_row, strict=True)
    ]


def capacity_table(rows: list[dict], percentile: str, extra_columns: dict[str, str] | None = None) -> str:
    """Markdown: offered and answered rate, utilisation, latency from intended send time, Little's law.
    ``percentile``: the row key the objective is on ("p95_ms" or "p99_ms")."""
    extra_columns = extra_columns or {}
    head = ["offered /s", "arrived /s", "answered /s", "ρ", "p50 ms", f"{percentile[:3]} ms"]
    head += [*extra_columns.values(), "errors", "in flight (seen)", "λW", "send lag p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [
            f"{r['offered_rps']:.2f}",
            f"{r['arrived_rps']:.2f}",
            f"{r['achieved_rps']:.2f}",
            f"{r['utilisation']:.2f}",
            f"{r['p50_ms']:.0f}",
            f"{r[percentile]:.0f}",
            *(str(r[key]) for key in extra_columns),
            str(r["errors"]),
            f"{r['in_flight_seen']:.1f}",
            f"{r['littles_law_in_flight']:.1f}",
            f"{r['send_lag_p99_ms']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def capacity_chart(
    rows: list[dict],
    capacity_rps: float,
    knee_rps: float | None,
    objective_ms: float,
    percentile: str,
    title: str,
    path: Path,
) -> None:
    """Left: latency (from intended send time) against offered load, the objective and the knee.
    Right: answered against offered, with the closed loop's capacity."""
    offered = [r["offered_rps"] for r in rows]
    fig, (latency, answered) = plt.subplots(1, 2, figsize=(10, 4))
    latency.plot(offered, [r["p50_ms"] for r in rows], "o-", label="p50")
    latency.plot(offered, [r[percentile] for r in rows], "s-", label=percentile[:3])
    latency.axhline(objective_ms, color="grey", ls=":", label=f"objective ({percentile[:3]} ≤ {objective_ms:g} ms)")
    latency.set_yscale("log")
    latency.set_ylabel("ms from intended send time (log)")
    answered.plot(offered, [r["achieved_rps"] for r in rows], "o-", label="answered")
    answered.plot(offered, offered, color="grey", ls=":", label="answered = offered")
    answered.axhline(capacity_rps, color="tab:red", ls="--", label=f"closed-loop capacity {capacity_rps:.1f}/s")
    answered.set_ylabel("answered per second")
    for axis, panel in ((latency, "latency against offered load"), (answered, "throughput against offered load")):
        if knee_rps is not None:
            axis.axvline(knee_rps, color="tab:green", alpha=0.5, label=f"knee {knee_rps:.1f}/s")
        axis.set_xlabel("offered load, requests per second (Poisson)")
        axis.set_title(panel, fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_capacity(
    out: Path,
    result: dict,
    objective_ms: float,
    percentile: str,
    title: str,
    note: str,
    extra_columns: dict[str, str] | None = None,
) -> list[Path]:
    """``capacity.json`` (``result``: with ``capacity_rps``, ``knee_rps`` and ``results`` rows),
    ``capacity.png`` and ``capacity.md`` (the table, then ``note``) in ``out``."""
    paths = [out / "capacity.json", out / "capacity.png", out / "capacity.md"]
    paths[0].write_text(json.dumps(result, indent=2) + "\n")
    rows = result["results"]
    capacity_chart(rows, result["capacity_rps"], result["knee_rps"], objective_ms, percentile, title, paths[1])
    paths[2].write_text(capacity_table(rows, percentile, extra_columns) + f"\n{note}\n")
    return paths
