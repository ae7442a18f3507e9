"""Running a project's client as a reader does (client.py with Python, client.mjs with Node): a
separate process, its output read back."""

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


def run_js_client(project_folder: str, *args: str) -> subprocess.CompletedProcess:
    """The project's client.mjs, the fetch() client a browser page would use, run by Node."""
    return subprocess.run(
        ["node", str(PROJECTS_DIR / project_folder / "client.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
