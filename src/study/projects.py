"""The projects `study` runs, discovered by folder: ``projects/NN-name/local/`` makes project NN.

A project's folder holds its service (``src/<package>``, the image) and, apart from it, its local
recipe (``local/``, never in the image): ``local/__init__.py`` says what the project is (TITLE,
TEACHES, TRY_IT), ``local/stack.py`` starts its real backends and API (``running_stack``) and
``local/bench.py`` measures it (``run``). Python imports the recipe as ``study.local.<package>``
(``study.local.image_classification.stack``); adding a project is adding its folder, nothing else.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from study.paths import PROJECTS_DIR

FOLDER = re.compile(r"(?P<number>\d\d)-(?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
RECIPES = "study.local"  # the package the recipes are imported under


@dataclass(frozen=True)
class Project:
    number: str  # "01"
    name: str  # "image-classification": the slug, the distribution, the compose project
    folder: Path

    @property
    def package(self) -> str:
        """The service's Python package; its settings are read from PACKAGE_* environment variables."""
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        return f"{self.package.upper()}_"

    @property
    def recipe_dir(self) -> Path:
        return self.folder / "local"

    def recipe(self, module: str = "") -> ModuleType:
        """The local recipe (``module`` "": its __init__; "stack", "bench": those modules)."""
        return importlib.import_module(".".join(filter(None, (RECIPES, self.package, module))))

    @property
    def title(self) -> str:
        return str(getattr(self.recipe(), "TITLE", self.name))

    @property
    def teaches(self) -> str:
        return str(getattr(self.recipe(), "TEACHES", ""))

    @property
    def try_it(self) -> str:
        """A first request to make, with {url} for the API's address."""
        return str(getattr(self.recipe(), "TRY_IT", "curl {url}/docs"))


def projects_dir() -> Path:
    """``projects/`` of this repository (STUDY_PROJECTS_DIR points elsewhere, e.g. in a test)."""
    return Path(os.environ.get("STUDY_PROJECTS_DIR") or PROJECTS_DIR)


def discover(root: Path | None = None) -> list[Project]:
    """Every ``NN-name`` folder with a ``local/__init__.py``, in number order."""
    found = []
    for folder in sorted((root or projects_dir()).iterdir()):
        match = FOLDER.fullmatch(folder.name)
        if match and (folder / "local" / "__init__.py").is_file():
            found.append(Project(match["number"], match["name"], folder))
    return found


def find_project(name: str) -> Project:
    """By name ("rag"), folder ("03-rag") or number ("03")."""
    for project in discover():
        if name in (project.name, project.folder.name, project.number, project.package):
            return project
    raise KeyError(name)


class RecipeFinder(importlib.abc.MetaPathFinder):
    """Imports ``study.local.<package>`` from ``projects/NN-<name>/local/``."""

    def find_spec(self, fullname: str, path=None, target=None) -> importlib.machinery.ModuleSpec | None:
        parent, _, package = fullname.rpartition(".")
        if parent != RECIPES:
            return None
        for project in discover():
            if project.package == package:
                init = project.recipe_dir / "__init__.py"
                return importlib.util.spec_from_file_location(
                    fullname, init, submodule_search_locations=[str(project.recipe_dir)]
                )
        return None
