"""Prometheus' and Alertmanager's command-line tools, as the alert-rule tests of every project run
them: promtool checks and unit-tests rules, amtool checks routing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from system_tools import system_tool


def tool(name: str) -> str:
    return system_tool(name, debian="prometheus prometheus-alertmanager")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True)


def check_rules(rules: Path) -> subprocess.CompletedProcess:
    return run(tool("promtool"), "check", "rules", str(rules))


def promtool_test(tests_file: Path) -> subprocess.CompletedProcess:
    return run(tool("promtool"), "test", "rules", tests_file.name, cwd=tests_file.parent)


def promtool_test_mutated(rules: Path, tests_file: Path, old: str, new: str, tmp: Path) -> subprocess.CompletedProcess:
    """promtool's unit tests run on a copy of the rules with ``old`` replaced by ``new`` (it must
    occur in the rules): the way to show that the tests can fail."""
    text = rules.read_text()
    assert old in text
    (tmp / rules.name).write_text(text.replace(old, new))
    shutil.copy(tests_file, tmp)
    return promtool_test(tmp / tests_file.name)


def check_alertmanager(config: Path) -> subprocess.CompletedProcess:
    return run(tool("amtool"), "check-config", str(config))
