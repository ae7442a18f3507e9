"""Conventions every project's containers follow (see docker/README.md)."""

from __future__ import annotations

import pytest
import yaml

from compose_config import compose_services
from study.paths import PROJECTS_DIR, REPO_ROOT
from study.projects import discover

PINNED = set(yaml.safe_load((REPO_ROOT / "docker/images.yaml").read_text()).values())
COMPOSE_FILES = sorted(PROJECTS_DIR.glob("*/docker-compose.yml"))


def test_there_is_a_compose_file_per_project():
    assert {p.folder.name for p in discover()} == {p.parent.name for p in COMPOSE_FILES}


@pytest.mark.parametrize("compose_file", COMPOSE_FILES, ids=lambda p: p.parent.name)
def test_compose_uses_only_pinned_images_and_keeps_gpus_in_the_override(compose_file):
    services = compose_services(compose_file.parent, compose_file.name)
    images = {s["image"] for s in services.values() if "image" in s}
    assert images <= PINNED, f"unpinned images: {images - PINNED}"
    reservations = [s.get("deploy", {}).get("resources", {}).get("reservations", {}) for s in services.values()]
    assert not any(r.get("devices") for r in reservations), "GPU reservations belong in compose.gpu.yaml"
    assert (compose_file.parent / "compose.gpu.yaml").is_file()
