"""Virtual environments the harness builds once per machine and reuses.

Each environment is rebuilt only when its requirement list changes (a stamp file records it).
Two are needed for Triton-backed projects:

* the Triton environment: the ``tritonserver`` binary from the ``nvidia-pytriton`` wheel plus
  what the python-backend models import. It must keep numpy < 2 (the stub mangles tensors with
  numpy 2), which is why it is separate from the service's environment.
* a build environment per model export, with the CPU PyTorch: a build-time tool only.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from study.errors import StudyError
from study.paths import cache_dir

TRITON_REQUIREMENTS = ["nvidia-pytriton==0.7.0", "numpy==1.26.4", "onnxruntime==1.32.0"]
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StudyError(f"{what} failed ({' '.join(cmd[:3])} ...):\n{done.stderr[-3000:]}")


def _uv() -> str | None:
    """The uv that runs us (`uv run` sets UV), else one on PATH; None means: fall back to pip."""
    return os.environ.get("UV") or shutil.which("uv")


def ensure_environment(name: str, requirements: list[str], installer: str = "uv",
                       report: Callable[[str], None] = lambda _: None, remove: tuple[str, ...] = ()) -> Path:
    """Create (or reuse) the virtual environment ``name`` holding exactly ``requirements``.

    uv is used when available (fast); ``installer="pip"`` insists on pip, which honours the
    machine's pip configuration (find-links, extra indexes): that is how the CPU build of torch is found.
    ``remove`` names packages to uninstall afterwards (dependencies that break the environment).
    """
    env = cache_dir() / "envs" / name
    stamp = env / ".study-requirements"
    wanted = "\n".join([*requirements, *(f"-{name}" for name in remove)]) + "\n"
    if stamp.exists() and stamp.read_text() == wanted:
        return env
    report(f"building the {name} environment (once per machine)")
    shutil.rmtree(env, ignore_errors=True)
    python = env / "bin" / "python"
    uv = _uv() if installer == "uv" else None
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], f"creating {name}")
        _run([uv, "pip", "install", "--quiet", "--python", str(python), *requirements],
             f"installing {name}")
    else:
        _run([sys.executable, "-m", "venv", str(env)], f"creating {name}")
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              *requirements], f"installing {name}")
    if remove:
        uninstall = ([uv, "pip", "uninstall", "--python", str(python)] if uv else
                     [str(python), "-m", "pip", "uninstall", "--yes", "--quiet"])
        _run([*uninstall, *remove], f"cleaning {name}")
    stamp.write_text(wanted)
    return env


def triton_environment(report: Callable[[str], None] = lambda _: None) -> Path:
    if platform.system() != "Linux":
        raise StudyError("local Triton runs on Linux only (the tritonserver binary comes in the "
                         "nvidia-pytriton wheel for Linux); on macOS or Windows use the project's "
                         "docker-compose.yml instead.")
    return ensure_environment(f"triton-py{PYTHON_VERSION}", TRITON_REQUIREMENTS, report=report)


def requirements_file(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
