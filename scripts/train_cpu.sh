#!/usr/bin/env bash
# Reproduces the shipped small weights on a 2-core CPU (see resources/weights/README.md).
# Stage 1 trains x2 from scratch; stage 2 fine-tunes x2 and trains x4 side by side (one core
# each), both starting from stage 1; stage 3 trains x1 from the stage-2 x2.
# Logs and checkpoints go to runs/.
set -euo pipefail
# One thread per run: oneDNN's OpenMP threads spin-wait, and on a busy 2-core machine two of
# them ran 15x slower than one (measured).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
mkdir -p runs
$PY main.py pretrain-semantic --out runs/semantic_small.safetensors --steps 400
$PY main.py train --scale 2 --config small --steps 20000 --minutes 55 --batch 8 --crop 64 \
    --semantic runs/semantic_small.safetensors --out runs/ultrais_x2_stage1.safetensors
$PY main.py train --scale 2 --config small --steps 20000 --minutes 32 --batch 8 --crop 64 \
    --lr 5e-4 --real-fraction 0.45 --init runs/ultrais_x2_stage1.safetensors \
    --out runs/ultrais_x2.safetensors > runs/train_x2_stage2.log 2>&1 &
$PY main.py train --scale 4 --config small --steps 20000 --minutes 36 --batch 6 --crop 64 \
    --lr 5e-4 --real-fraction 0.4 --init runs/ultrais_x2_stage1.safetensors \
    --out runs/ultrais_x4.safetensors > runs/train_x4.log 2>&1
wait
$PY main.py train --scale 1 --config small --steps 20000 --minutes 12 --batch 12 --crop 64 \
    --lr 5e-4 --init runs/ultrais_x2.safetensors --out runs/ultrais_x1.safetensors
