"""What the GPU benchmarks share: the device's name for the label, and where the running stack is.

On a GPU host the stacks run under Docker Compose (``scripts/gpu-bench.sh`` starts them); the
benchmark only sends requests, so it is the same code that the tests run against the local stacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from study.errors import StudyError


def device_name() -> str:
    """``STUDY_BENCH_DEVICE`` if set (the tests label CPU runs with it), else the first GPU's name."""
    if label := os.environ.get("STUDY_BENCH_DEVICE"):
        return label
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise StudyError("no NVIDIA GPU here (nvidia-smi not found): run the GPU benchmark on a GPU host")
    found = subprocess.run(
        [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise StudyError(f"nvidia-smi found no GPU: {found.stderr.strip() or found.stdout.strip()}")
    name, memory, driver = (part.strip() for part in found.stdout.splitlines()[0].split(","))
    return f"{name} ({memory}, driver {driver})"


def target(name: str, default: str) -> str:
    """Where a running stack's part answers: ``STUDY_BENCH_<NAME>``, else the compose default."""
    return os.environ.get(f"STUDY_BENCH_{name}", default)


def record_run(
    out: Path, benchmark: str, run: dict, key: tuple[str, ...], table: Callable[[list[dict]], str]
) -> list[Path]:
    """Add ``run`` to ``gpu.json`` in ``out``, replacing an earlier run with the same values of
    ``key`` (a device, a configuration), and redraw ``gpu.md`` from every run kept."""
    path = out / "gpu.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else []
    runs = [r for r in runs if tuple(r[k] for k in key) != tuple(run[k] for k in key)] + [run]
    path.write_text(json.dumps({"benchmark": benchmark, "runs": runs}, indent=2) + "\n")
    (out / "gpu.md").write_text(table(runs))
    return [path, out / "gpu.md"]
