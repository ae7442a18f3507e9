# The two commands of the course: `make up` runs project 01 locally, `make test` runs every test.
.PHONY: up test test-fresh lock lint types docs bench system-packages docs-assets

# `uv` on PATH, else the one `make test` installs with pip (reachable as a module even before a shell rehash).
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)

up:
	$(UV) run study up image-classification

test: system-packages docs-assets
	$(UV) sync --all-packages
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	UV="$(UV)" bash scripts/typecheck.sh
	$(UV) run pytest

# The two commands on a fresh clone of HEAD with empty caches, timed (see scripts/test-fresh.sh).
test-fresh:
	@bash scripts/test-fresh.sh

# Lint and format (Ruff), then types (mypy), all configured in pyproject.toml; `make test` runs
# them before the tests. `uv run ruff format .` rewrites what the format check refuses.
lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

types:
	UV="$(UV)" bash scripts/typecheck.sh

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
