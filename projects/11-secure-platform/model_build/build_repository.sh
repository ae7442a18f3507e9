#!/bin/sh
# Train once, then put each model where Triton reads it: <repo>/<model>/1/model.onnx
# (metrics.json, the held-out quality, beside the shared one).
set -eu
REPO="$1"
if [ -f "$REPO/digits/1/metrics.json" ]; then exit 0; fi
OUT="$(mktemp -d)"
python /build/train.py "$OUT"
for model in digits acme__wine_cultivar globex__tumour_screen; do
  mkdir -p "$REPO/$model/1"
  cp "$OUT/$model.onnx" "$REPO/$model/1/model.onnx"
done
cp "$OUT/metrics.json" "$REPO/digits/1/metrics.json"   # last: its presence means "built"
