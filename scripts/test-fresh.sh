#!/usr/bin/env bash
# The README's two commands as a new reader meets them: a fresh clone of this repository's HEAD
# (commit first) in a temporary folder, with empty caches (the course's, uv's and pip's), timed.
#
#   make test-fresh                          # with python3
#   STUDY_FRESH_PYTHON=python3.12 make test-fresh
#
# It prints how long each command took; the README quotes these times.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/study-fresh.XXXXXX")
python=$(command -v "${STUDY_FRESH_PYTHON:-python3}")
port=${STUDY_FRESH_PORT:-8765}
log="$work/up.log"

git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
export STUDY_CACHE_DIR="$work/cache/study" UV_CACHE_DIR="$work/cache/uv" PIP_CACHE_DIR="$work/cache/pip"
export UV_PYTHON="$python" UV_PROJECT_ENVIRONMENT="$work/clone/.venv"
echo "fresh clone of $(git rev-parse --short HEAD) in $work, Python $("$python" -c 'import platform; print(platform.python_version())')"
command -v uv >/dev/null 2>&1 || "$python" -m pip install --quiet uv

# 1. uv run study up image-classification: until it serves the cat photo.
start=$(date +%s)
uv run study up image-classification --port "$port" >"$log" 2>&1 &
up_pid=$!
until curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; do
  if ! kill -0 "$up_pid" 2>/dev/null; then
    cat "$log"; echo "FAILED: study up exited before it was ready"; exit 1
  fi
  sleep 2
done
ready=$(( $(date +%s) - start ))
uv run python -c 'import io, skimage.data; from PIL import Image; b = io.BytesIO(); Image.fromarray(skimage.data.chelsea()).save(b, "JPEG"); open("cat.jpg", "wb").write(b.getvalue())'
answer=$(curl -sf -F image=@cat.jpg "http://127.0.0.1:$port/v1/classify?top_k=3")
kill -INT "$up_pid"
wait "$up_pid" || true
echo "$answer" | grep -q '"label":"[^"]*cat' || { echo "FAILED: the cat photo was answered with $answer"; exit 1; }
echo "study up: served the cat photo $ready s after the command started"
echo "  $answer"

# 2. make test: the whole suite on the same fresh machine state.
start=$(date +%s)
status=0
make test >"$work/test.log" 2>&1 || status=$?
tested=$(( $(date +%s) - start ))
tail -n 30 "$work/test.log"
echo "make test: exit $status after $tested s (log: $work/test.log)"
echo "fresh-machine check: study up ready in $ready s, make test $tested s"
exit "$status"
