#!/usr/bin/env bash
# Reproduces the shipped small weights on a CPU: semantic extractor, then x2, then x4 and x1
# initialised from x2 (they share everything but the upsampler). Logs and checkpoints in runs/.
set -euo pipefail
# One thread: oneDNN's OpenMP threads spin-wait, and on a busy 2-core machine two of them ran
# 15x slower than one (measured). Raise it on a machine with cores to spare.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p runs
$PY main.py pretrain-semantic --out runs/semantic_small.safetensors --steps "${SEMANTIC_STEPS:-400}"
$PY main.py train --scale 2 --config small --steps 20000 --minutes "${X2_MINUTES:-55}" \
    --batch 8 --crop 64 --semantic runs/semantic_small.safetensors --out runs/ultrais_x2.safetensors
$PY main.py train --scale 4 --config small --steps 20000 --minutes "${X4_MINUTES:-40}" \
    --batch 6 --crop 64 --lr 5e-4 --init runs/ultrais_x2.safetensors --out runs/ultrais_x4.safetensors
$PY main.py train --scale 1 --config small --steps 20000 --minutes "${X1_MINUTES:-15}" \
    --batch 12 --crop 64 --lr 5e-4 --init runs/ultrais_x2.safetensors --out runs/ultrais_x1.safetensors
