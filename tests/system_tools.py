"""Tests that need a program from the system (promtool, prometheus, Chromium): on a reader's machine
without it they are skipped with the package to install; under CI (``CI`` set) a missing program
fails the test, so a green CI run never hides tests that did not run."""

from __future__ import annotations

import os
import shutil

import pytest


def system_tool(*names: str, debian: str) -> str:
    """The path of the first of ``names`` on PATH; otherwise skip (fail under CI)."""
    for name in names:
        if path := shutil.which(name):
            return path
    message = f"{names[0]} is not installed (Debian/Ubuntu: apt-get install {debian})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; under CI every test must run")
    pytest.skip(message)
