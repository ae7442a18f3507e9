"""What every benchmark chart shares: concurrency on a log-2 axis, one title per panel."""

from __future__ import annotations

from pathlib import Path


def format_concurrency_panels(fig, panels, levels, xlabel: str, suptitle: str, path: Path) -> None:
    """``panels``: (axis, title) pairs. Writes the figure to ``path``."""
    for axis, title in panels:
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(c) for c in levels])
        axis.set_xlabel(xlabel)
        axis.set_title(title)
        axis.grid(alpha=0.3)
    panels[0][0].legend(fontsize=8)
    fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
