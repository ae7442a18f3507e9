"""The GitHub Actions workflow, checked without GitHub: it is valid against the workflow schema
(vendored in check-jsonschema), it runs the same command as every other CI of the repository, and
its cache key hashes files that exist (a pattern that matches nothing silently drops out of it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from study.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )


def steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]


def test_workflow_is_valid_against_the_github_actions_schema():
    done = validate(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path):
    # Edited as text: a YAML 1.1 round trip would also turn the `on:` key into `true:`.
    path = tmp_path / "broken.yml"
    path.write_text(WORKFLOW.read_text().replace("timeout-minutes: 90", "timeout-minutes: ninety"))
    done = validate(path)
    assert done.returncode != 0 and "timeout-minutes" in done.stdout, done.stdout


# --8<-- [start:same-command]
def test_the_workflow_runs_the_readme_test_command_through_ci_run():
    assert [step["run"] for step in steps() if "run" in step] == [".ci/run"]
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
    assert "make test" in (REPO_ROOT / "README.md").read_text()


# --8<-- [end:same-command]


def test_the_job_runs_on_every_python_the_project_requires_within_the_ci_limit():
    from packaging.specifiers import SpecifierSet

    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]
    assert job["container"]["image"] == "python:${{ matrix.python }}-bookworm"
    requires = SpecifierSet(re.search(r'requires-python = "(.+)"', (REPO_ROOT / "pyproject.toml").read_text()).group(1))
    pythons = job["strategy"]["matrix"]["python"]
    assert pythons == ["3.11", "3.12"]
    assert all(f"{version}.99" in requires for version in pythons) and "3.13.0" not in requires
    assert job["timeout-minutes"] <= 90


def test_every_file_the_cache_key_hashes_exists():
    [cache] = [step for step in steps() if step.get("uses", "").startswith("actions/cache@")]
    patterns = re.findall(r"'([^']+)'", re.search(r"hashFiles\(([^)]*)\)", cache["with"]["key"]).group(1))
    assert patterns
    for pattern in patterns:
        assert list(REPO_ROOT.glob(pattern)), f"{pattern} matches no file: the cache key would ignore it"
