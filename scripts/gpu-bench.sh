#!/usr/bin/env bash
# Projects 01 and 02's benchmarks on an NVIDIA GPU host, in one command:
#   bash scripts/gpu-bench.sh            (from the repository root; needs Docker Compose and the
#                                         NVIDIA Container Toolkit; project 02 needs HF_TOKEN)
# Each stack runs from its compose files with the GPU override; the benchmark (`study bench
# PROJECT --gpu`) sends requests from this host and writes gpu.json and gpu.md, labelled with the
# GPU, into the project's docs results. Project 01 runs twice: ONNX Runtime on CUDA in float32
# (config.pbtxt), then its TensorRT provider in FP16. Stacks are taken down when each run ends.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi --query-gpu=name --format=csv,noheader >/dev/null 2>&1; then
  echo "gpu-bench: no NVIDIA GPU here (nvidia-smi missing or failing); run this on a GPU host" >&2
  exit 2
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "gpu-bench: Docker Compose is needed to start the stacks" >&2
  exit 2
fi
UV="${UV:-$(command -v uv || echo python3 -m uv)}"
SCALE="${SCALE:-1}"

run_stack() {  # run_stack PROJECT_DIR STUDY_NAME CONFIG_LABEL compose files...
  local dir="$1" name="$2" config="$3"
  shift 3
  local files=()
  for f in "$@"; do files+=(-f "$dir/$f"); done
  docker compose "${files[@]}" up --build --detach --wait --wait-timeout 1800
  local status=0
  STUDY_BENCH_CONFIG="$config" $UV run study bench "$name" --gpu --scale "$SCALE" || status=$?
  docker compose "${files[@]}" down
  return "$status"
}

run_stack projects/01-image-classification image-classification onnxruntime-cuda-fp32 \
  docker-compose.yml compose.gpu.yaml
run_stack projects/01-image-classification image-classification tensorrt-fp16 \
  docker-compose.yml compose.gpu.yaml compose.gpu-tensorrt.yaml
run_stack projects/02-streaming-llm-chat streaming-llm-chat vllm \
  docker-compose.yml compose.gpu.yaml
echo "gpu-bench: done; the results are in docs/projects/0{1,2}-*/results/gpu.{json,md}"
