"""Benchmarks in parts: ``study bench PROJECT`` runs every part in order, ``--only NAME`` one of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from study.errors import StudyError


def run_parts(parts: dict[str, Callable[[Path], list[Path]]], out: Path, only: str | None) -> list[Path]:
    """Each part writes its files into ``out`` and returns their paths."""
    if only not in (None, *parts):
        raise StudyError(f"no part {only!r} in this benchmark; one of {', '.join(parts)}")
    out.mkdir(parents=True, exist_ok=True)
    return [path for name, part in parts.items() if only in (None, name) for path in part(out)]
