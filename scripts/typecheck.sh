#!/usr/bin/env bash
# Types (mypy, configured in pyproject.toml): the harness and every project's service in one run,
# then each project's local recipe on its own (every recipe is a package named `local`).
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-uv}"
$UV run mypy src/study projects/*/src/*/
for recipe in projects/*/local; do
  $UV run mypy "$recipe"
done
