"""Running a project's client.py as a reader does: a separate Python process, its output read back."""

from __future__ import annotations

import subprocess
import sys

from study.paths import PROJECTS_DIR


def run_client(project_folder: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECTS_DIR / project_folder / "client.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
