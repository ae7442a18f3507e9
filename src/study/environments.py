"""Virtual environments the harness builds once per machine and reuses, each from a lock file.

Every environment is described twice: ``NAME.in`` lists what it is for (the few packages it needs,
pinned), and ``NAME.txt`` beside it, compiled from the ``.in`` by ``uv run study lock``, pins every
package it installs, transitive ones included. The harness installs the ``.txt`` and nothing else,
so a build next month installs what it installed today. An environment is rebuilt when its lock
file or the Python running it changes (a stamp file records both).

Two kinds are needed:

* the Triton environment: the ``tritonserver`` binary from the ``nvidia-pytriton`` wheel plus
  what the python-backend models import. It must keep numpy < 2 (the stub mangles tensors with
  numpy 2), which is why it is separate from the service's environment.
* build and server environments (the model exports with CPU PyTorch, llama.cpp's and vLLM's
  servers): tools and servers of their own, kept out of the services' dependencies.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from study.errors import StudyError
from study.paths import PROJECTS_DIR, REPO_ROOT, cache_dir

REQUIREMENTS_DIR = Path(__file__).parent / "requirements"
LOCK_HEADER = (
    "# Every version pinned, transitive ones included: compiled from {source} by\n"
    "# `uv run study lock` (uv pip compile {options}). Do not edit by hand.\n"
)
# A line in an .in file naming packages its lock leaves out (they break the environment).
LEAVE_OUT = re.compile(r"^#\s*leave out:\s*(.+)$", re.MULTILINE)
TORCH_CPU_HINT = (
    "the CPU build of torch (torch==2.13.0+cpu) is published on PyTorch's own CPU wheel index, "
    "not on the default one: set PIP_EXTRA_INDEX_URL to that index (or PIP_FIND_LINKS to a "
    "folder holding the wheel for your Python) and run again."
)

Report = Callable[[str], None]


def _run(cmd: list[str], what: str, hint: str = "") -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StudyError(
            f"{what} failed ({' '.join(cmd[:3])} ...):\n{done.stderr[-3000:]}" + (f"\n{hint}" if hint else "")
        )


def _uv() -> str | None:
    """The uv that runs us (`uv run` sets UV), else one on PATH; None means: fall back to pip."""
    return os.environ.get("UV") or shutil.which("uv")


def lock_of(source: Path) -> Path:
    """The lock compiled from ``source``: ``NAME.in`` -> ``NAME.txt``, ``pyproject.toml`` ->
    ``requirements.txt`` beside it (what the project's Docker image installs)."""
    return source.with_name("requirements.txt") if source.name == "pyproject.toml" else source.with_suffix(".txt")


def needs_cpu_torch(source: Path) -> bool:
    return "+cpu" in source.read_text()


def python_for(lock: Path) -> str:
    """The Python an environment is built with: the one running us, except that an environment with
    the CPU build of torch may be given another (STUDY_BUILD_PYTHON): it is a separate process, and
    the CPU wheel may be at hand for one Python version only (the course's machines have it for 3.11)."""
    if needs_cpu_torch(lock):
        return os.environ.get("STUDY_BUILD_PYTHON") or sys.executable
    return sys.executable


def _version_of(python: str) -> str:
    if python == sys.executable:
        return sys.version
    done = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True)
    if done.returncode != 0:
        raise StudyError(f"STUDY_BUILD_PYTHON={python} does not run: point it at a Python 3.11 or 3.12")
    return done.stdout.strip()


def _location(name: str, lock: Path, build_settings: dict[str, str]) -> tuple[Path, Path, str, bool]:
    """The environment's folder, its stamp file, what the stamp must say, and whether it does."""
    version = _version_of(python_for(lock))
    env = cache_dir() / "envs" / f"{name}-py{'.'.join(version.split('.')[:2])}"
    settings = "".join(f"# build: {key}={value}\n" for key, value in sorted(build_settings.items()))
    stamp, wanted = env / ".study-lock", f"{version}\n{settings}{lock.read_text()}"
    return env, stamp, wanted, stamp.exists() and stamp.read_text() == wanted


def environment_ready(name: str, lock: Path, build_settings: dict[str, str] | None = None) -> bool:
    """Whether ``name`` is built from this very lock, with these build settings, for this Python."""
    return _location(name, lock, build_settings or {})[3]


# --8<-- [start:ensure-environment]
def ensure_environment(
    name: str, lock: Path, report: Report = lambda _: None, build_settings: dict[str, str] | None = None
) -> Path:
    """Create (or reuse) the virtual environment ``name`` holding exactly what ``lock`` pins.

    uv installs it when available (fast). An environment with the CPU build of torch is installed
    by pip, which honours the machine's pip configuration (find-links, extra indexes): that is
    where the CPU build is found. ``--no-deps``: the lock already lists every dependency.
    ``build_settings`` go to the build backend of any package built from source (PEP 517 config
    settings); they are part of what the environment is, so changing them rebuilds it.
    """
    build_settings = build_settings or {}
    env, stamp, wanted, ready = _location(name, lock, build_settings)
    if ready:
        return env
    report(f"building the {name} environment (once per machine)")
    shutil.rmtree(env, ignore_errors=True)
    python, builder = env / "bin" / "python", python_for(lock)
    uv = None if needs_cpu_torch(lock) else _uv()
    hint = TORCH_CPU_HINT if needs_cpu_torch(lock) else ""
    if uv:
        _run([uv, "venv", "--quiet", "--python", builder, str(env)], f"creating {name}")
        configs = [arg for key, value in build_settings.items() for arg in ("-C", f"{key}={value}")]
        _run([uv, "pip", "sync", "--quiet", *configs, "--python", str(python), str(lock)], f"installing {name}")
    else:
        _run([builder, "-m", "venv", str(env)], f"creating {name}")
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                *[f"--config-settings={key}={value}" for key, value in build_settings.items()],
                "-r",
                str(lock),
            ],
            f"installing {name}",
            hint,
        )
    stamp.write_text(wanted)
    return env


# --8<-- [end:ensure-environment]


def run_in_environment(env: Path, script: Path, *args: Path | str, what: str) -> None:
    """Run a build script with the environment's Python; its error output becomes the message."""
    _run([str(env / "bin" / "python"), str(script), *map(str, args)], what)


def triton_environment(report: Report = lambda _: None) -> Path:
    if platform.system() != "Linux":
        raise StudyError(
            "local Triton runs on Linux only (the tritonserver binary comes in the "
            "nvidia-pytriton wheel for Linux); on macOS or Windows use the project's "
            "docker-compose.yml instead."
        )
    return ensure_environment("triton", REQUIREMENTS_DIR / "triton.txt", report=report)


def lock_sources() -> list[Path]:
    """Every environment description in the repository: the harness's servers, each project's
    model builds (and other images, e.g. project 12's Ray node), and each project's service (its
    pyproject.toml, for the Docker image)."""
    return sorted(
        [
            *REQUIREMENTS_DIR.glob("*.in"),
            *PROJECTS_DIR.glob("*/*/requirements.in"),  # model builds, and project 12's Ray image
            *PROJECTS_DIR.glob("*/pyproject.toml"),
        ]
    )


def compile_options(source: Path) -> list[str]:
    """Options for ``uv pip compile``. Most locks are universal (any platform, Python 3.11 and
    up); a lock with the CPU build of torch is for Linux x86-64 only, the build that index has."""
    options = ["--python-version", "3.11", "--no-header"]
    if needs_cpu_torch(source):
        options += ["--python-platform", "x86_64-manylinux_2_28"]
    else:
        options += ["--universal"]
    for line in LEAVE_OUT.finditer(source.read_text()):
        options += [arg for package in line.group(1).split() for arg in ("--no-emit-package", package)]
    return options


def compile_lock(source: Path) -> Path:
    """Compile ``source`` into its lock. The machine's pip find-links and extra index are passed
    to uv for the CPU torch; neither is written into the file (no index host in the repository)."""
    uv = _uv()
    if not uv:
        raise StudyError("`study lock` needs uv (pip install uv)")
    options = compile_options(source)
    located = []
    if needs_cpu_torch(source):
        located += [arg for links in os.environ.get("PIP_FIND_LINKS", "").split() for arg in ("--find-links", links)]
        located += [
            arg for index in os.environ.get("PIP_EXTRA_INDEX_URL", "").split() for arg in ("--extra-index-url", index)
        ]
    lock = lock_of(source)
    done = subprocess.run(
        [uv, "pip", "compile", "--quiet", *options, *located, source.name],
        cwd=source.parent,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise StudyError(
            f"compiling {source.relative_to(REPO_ROOT)} failed:\n{done.stderr[-3000:]}"
            + (f"\n{TORCH_CPU_HINT}" if needs_cpu_torch(source) else "")
        )
    lock.write_text(LOCK_HEADER.format(source=source.name, options=" ".join(options)) + done.stdout)
    return lock
