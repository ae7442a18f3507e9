# The two commands of the course: `make up` runs project 01 locally, `make test` runs every test.
.PHONY: up test docs bench system-packages docs-assets

up:
	uv run study up image-classification

test: system-packages docs-assets
	uv sync --all-packages
	uv run pytest

docs: docs-assets
	uv run mkdocs serve

bench:
	uv run study bench image-classification

system-packages:
	@bash scripts/system-packages.sh

docs-assets:
	@bash scripts/docs-assets.sh
