#!/usr/bin/env bash
# The prepared GPU check (issue 15 item 5; docs/decisions/scale.md §7): epoch time per model on
# 50,000 synthetic CIFAR images (bf16, channels-last), one finetune-estimator evaluation per model,
# strategies per hour with K = 1, 4, 8 workers sharing the GPU, and the Table 2 estimate beside the
# paper's hours. One command, at most 8 minutes on one GPU; the report (gpu_check.json and
# gpu_check.md) goes to $OUT when set, else results/gpu-check/. It exits 2 with a message where
# PyTorch sees no CUDA GPU. Extra arguments go to benchmarks/gpu_check.py (e.g. --dry-run on a CPU,
# --executor ray, --compile).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
OUT_DIR=${OUT:-results/gpu-check}
# 470 s hard stop: the script skips stages after its own 380 s budget and writes the report after
# every stage, so even a stopped run leaves what it measured.
exec timeout 470 "$PYTHON" benchmarks/gpu_check.py --out "$OUT_DIR" "$@"
