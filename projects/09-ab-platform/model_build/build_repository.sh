#!/bin/sh
# Build once, then put each file where Triton reads it: <repo>/<model>/1/model.onnx for the encoder
# and the two heads, the tokenizer beside tokenize's model.py, the held-out quality with the model.
set -eu
REPO="$1"
if [ -f "$REPO/sentiment_minilm/1/metrics.json" ]; then exit 0; fi
SITE="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
OUT="$(mktemp -d)"
python /build/build_models.py "$SITE" "$OUT"
for model in text_encoder head_broad head_narrow; do
  mkdir -p "$REPO/$model/1"
  cp "$OUT/$model.onnx" "$REPO/$model/1/model.onnx"
done
cp "$OUT/tokenizer.json" "$REPO/tokenize/1/tokenizer.json"
cp "$OUT/metrics.json" "$REPO/sentiment_minilm/1/metrics.json"   # last: its presence means "built"
