# The two commands of the course: `make up` runs project 01 locally, `make test` runs every test.
.PHONY: up test test-fresh lock lint docs bench system-packages docs-assets

# `uv` on PATH, else the one `make test` installs with pip (reachable as a module even before a shell rehash).
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)

up:
	$(UV) run study up image-classification

test: system-packages docs-assets
	$(UV) sync --all-packages
	$(UV) run ruff check .
	$(UV) run pytest

# The two commands on a fresh clone of HEAD with empty caches, timed (see scripts/test-fresh.sh).
test-fresh:
	@bash scripts/test-fresh.sh

# Lint (Ruff, configured in pyproject.toml); `make test` runs it before the tests.
lint:
	$(UV) run ruff check .

# Recompile every environment's complete lock after a pin changed (commit the result).
lock:
	$(UV) run study lock

docs: docs-assets
	$(UV) run mkdocs serve

bench:
	$(UV) run study bench image-classification

system-packages:
	@bash scripts/system-packages.sh

docs-assets:
	@bash scripts/docs-assets.sh
