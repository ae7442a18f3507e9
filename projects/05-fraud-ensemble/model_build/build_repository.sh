#!/bin/sh
# Train once, then put each file where Triton reads it: <repo>/fraud_<voter>/1/model.onnx and the
# vote's weights at <repo>/fraud_vote/1/ensemble.json (metrics.json beside them).
set -eu
REPO="$1"
if [ -f "$REPO/fraud_vote/1/ensemble.json" ]; then exit 0; fi
DATA="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/fraud_analysis/datasets/raw/creditcard.csv"
OUT="$(mktemp -d)"
python /build/train.py "$DATA" "$OUT"
for voter in gbm logreg mlp; do
  mkdir -p "$REPO/fraud_$voter/1"
  cp "$OUT/$voter.onnx" "$REPO/fraud_$voter/1/model.onnx"
done
cp "$OUT/metrics.json" "$REPO/fraud_vote/1/metrics.json"
cp "$OUT/ensemble.json" "$REPO/fraud_vote/1/ensemble.json"   # last: its presence means "built"
