"""The environments the harness builds install from complete locks, and a machine that lacks
something gets one sentence that says what to install, not a traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest

from study.environments import compile_options, lock_of, lock_sources
from study.paths import REPO_ROOT
from study.processes import free_port

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", re.MULTILINE)


def pins(text: str) -> dict[str, str]:
    return {name.lower().replace("_", "-"): version for name, version in PIN.findall(text)}


def wanted(source) -> dict[str, str]:
    if source.name == "pyproject.toml":
        dependencies = tomllib.loads(source.read_text())["project"]["dependencies"]
        return pins("\n".join(dependencies))
    return pins(source.read_text())


@pytest.mark.parametrize("source", lock_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_environment_has_a_complete_lock_that_agrees_with_what_it_asks_for(source):
    lock = lock_of(source)
    assert lock.exists(), f"run `uv run study lock` to create {lock.relative_to(REPO_ROOT)}"
    locked = pins(lock.read_text())
    for name, version in wanted(source).items():
        assert locked.get(name) == version, f"{name}=={version} asked for, {locked.get(name)} locked: run `study lock`"
    # Complete: every requirement line pins one exact version (uv writes the dependencies too).
    requirement_lines = [line for line in lock.read_text().splitlines() if line and not line.startswith((" ", "#"))]
    assert requirement_lines and all("==" in line for line in requirement_lines)
    assert len(locked) > len(wanted(source)), "a lock lists the dependencies as well"


@pytest.mark.parametrize("source", lock_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_no_lock_names_an_index_or_a_path_of_this_machine(source):
    text = lock_of(source).read_text()
    assert "://" not in text and "--index" not in text and "--find-links" not in text
    assert not re.search(r"(^|\s)/(opt|root|home|tmp|work|usr)/", text)


def test_the_cpu_torch_builds_are_locked_for_the_platform_that_index_serves():
    vllm = REPO_ROOT / "src/study/requirements/vllm-cpu.in"
    assert "x86_64-manylinux_2_28" in compile_options(vllm)
    triton = REPO_ROOT / "src/study/requirements/triton.in"
    assert "--universal" in compile_options(triton)
    # The CUDA builds of torch's companions break vLLM's model imports on CPU: never installed.
    locked = pins(lock_of(vllm).read_text())
    assert locked["torch"] == "2.13.0+cpu"
    assert not {"torchvision", "torchaudio", "torchcodec", "triton"} & locked.keys()


@pytest.mark.parametrize(
    ("tools", "says"),
    [
        ((), "redis-server is not installed. Debian/Ubuntu: sudo apt-get install redis-server"),
        (("redis-server",), "no C++ compiler was found: install one (Debian/Ubuntu: apt-get install build-essential"),
    ],
    ids=["no-redis", "no-compiler"],
)
def test_study_up_on_a_machine_that_lacks_something_says_what_to_install(tmp_path, tools, says):
    """The whole command, with an empty cache and a PATH holding only ``tools``."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in tools:
        os.symlink(shutil.which(tool), bare / tool)
    env = {**os.environ, "PATH": str(bare), "STUDY_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "400"}
    env.pop("CXX", None)
    done = subprocess.run(
        [sys.executable, "-m", "study.cli", "up", "streaming-llm-chat", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert says in " ".join(done.stdout.split())
    assert "Traceback" not in done.stdout + done.stderr
