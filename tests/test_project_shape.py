"""Every project has the same shape (CONTRIBUTING.md, "Adding a project"): one name across folder,
distribution, package, settings and compose; the shared service files equal to their template;
the same test files; and only problem types from the documented list."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from study.paths import DOCS_DIR, REPO_ROOT
from study.projects import Project, discover
from study.service import KEEP_ALIVE_S

TEMPLATE = REPO_ROOT / "templates" / "service"
TEMPLATE_FILES = sorted(p.relative_to(TEMPLATE) for p in TEMPLATE.rglob("*") if p.is_file())
TEST_FILES = (
    "test_contract",
    "test_bad_input",
    "test_faults",
    "test_units",
    "test_compose",
    "test_benchmark",
    "test_client",
)
PROJECTS = discover()


def test_the_four_projects_are_found():
    assert [p.number for p in PROJECTS][:4] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
@pytest.mark.parametrize("template", TEMPLATE_FILES, ids=str)
def test_shared_files_equal_their_template(project: Project, template):
    copy = project.folder / str(template).replace("PACKAGE", project.package)
    assert copy.is_file(), f"{copy.relative_to(REPO_ROOT)} is missing: copy it from templates/service/{template}"
    assert copy.read_text() == (TEMPLATE / template).read_text(), (
        f"{copy.relative_to(REPO_ROOT)} differs from templates/service/{template}: change the template "
        "and copy it to every project, or move what differs into a file of the project's own"
    )


def test_the_image_keeps_idle_connections_as_long_as_local_mode():
    dockerfile = (TEMPLATE / "Dockerfile").read_text()
    assert re.search(r"UVICORN_TIMEOUT_KEEP_ALIVE=(\d+)", dockerfile)[1] == str(KEEP_ALIVE_S)


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_one_name_per_project(project: Project):
    pyproject = tomllib.loads((project.folder / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == project.name
    assert (project.folder / "src" / project.package / "main.py").is_file()
    settings = (project.folder / "src" / project.package / "settings.py").read_text()
    assert f'env_prefix="{project.env_prefix}"' in settings
    compose = yaml.safe_load((project.folder / "docker-compose.yml").read_text())
    assert compose["name"] == project.name
    builds = [b for s in compose["services"].values() if isinstance(b := s.get("build"), dict) and b["context"] == "."]
    assert builds and all(b["args"]["PACKAGE"] == project.package for b in builds)
    assert (DOCS_DIR / "projects" / project.folder.name / "index.md").is_file()


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_the_same_test_files_and_fixtures(project: Project):
    tests = REPO_ROOT / "tests" / f"p{project.number}_{project.package}"
    assert sorted(name for name in TEST_FILES if not (tests / f"{name}.py").is_file()) == []
    assert "stack_fixtures(" in (tests / "conftest.py").read_text()


RAISED = re.compile(r'Problem\(\s*\d{3},\s*"([a-z-]+)"')


def test_every_problem_type_is_documented():
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", (DOCS_DIR / "reference/problem-types.md").read_text(), re.M))
    raised = {
        slug
        for project in PROJECTS
        for source in (project.folder / "src").rglob("*.py")
        for slug in RAISED.findall(source.read_text())
    }
    # and the generic ones the template's handlers give (routing errors, validation, 500)
    raised |= set(re.findall(r'"([a-z]+(?:-[a-z]+)+)"', (TEMPLATE / "src/PACKAGE/api/problem_details.py").read_text()))
    assert raised - documented == set(), "raised but not on docs/reference/problem-types.md"
    assert documented - raised == set(), "documented but raised by no service"
