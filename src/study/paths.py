"""Where things are: the repository, the projects, and the per-machine cache of built artefacts."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECTS_DIR = REPO_ROOT / "projects"
DOCS_DIR = REPO_ROOT / "docs"


def cache_dir() -> Path:
    """Built environments and models live here, once per machine (override: STUDY_CACHE_DIR)."""
    path = Path(os.environ.get("STUDY_CACHE_DIR") or user_cache_dir("ai-inference-study"))
    path.mkdir(parents=True, exist_ok=True)
    return path
