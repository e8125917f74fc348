#!/usr/bin/env bash
# Reproduces the shipped small weights on a 2-core CPU (see resources/weights/README.md), in the
# order they were made: x2 from scratch (stage 1), then side by side (one core each) the x2
# fine-tune after the switch to overlapping attention windows (stage 2) and x4 from stage 1;
# then x1 from stage 2 beside a last x2 fine-tune with more real pairs (stage 3); session 3
# (whole-photo context); session 4 (weights format 2: night rendering and the lighter
# full-resolution blocks); session 5 (format 3); session 6 (format 4), whose
# runs/r4_x{1,2,4}.safetensors are what ships, renamed ultrais_x{1,2,4}.safetensors in
# resources/weights/. Each format seeds the next from the tensors whose name and shape match.
set -euo pipefail
# One thread per run: oneDNN's OpenMP threads spin-wait, and on a busy 2-core machine two of
# them ran 15x slower than one (measured).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
train() { $PY main.py train --config small --steps 20000 --crop 64 "$@"; }
# An x1 seed: the body of an x2 file (BODY) with the tensors of another file (X1) whose names
# start with the given prefixes (its upsampler, and from session 6 its head).
x1_seed() {
    $PY - "$@" <<'PYEOF'
import sys
from safetensors.torch import load_file, save_file
body_file, x1_file, out, *prefixes = sys.argv[1:]
body, x1 = load_file(body_file), load_file(x1_file)
kept = {k: v for k, v in body.items() if not k.startswith(("upsampler.", "head."))}
kept.update({k: v for k, v in x1.items() if k.startswith(tuple(prefixes))})
save_file(kept, out)
PYEOF
}
mkdir -p runs
$PY main.py pretrain-semantic --out runs/semantic_small.safetensors --steps 400
train --scale 2 --minutes 55 --batch 8 --semantic runs/semantic_small.safetensors \
    --out runs/ultrais_x2_stage1.safetensors
train --scale 2 --minutes 32 --batch 8 --lr 5e-4 --real-fraction 0.45 \
    --init runs/ultrais_x2_stage1.safetensors --out runs/ultrais_x2_stage2.safetensors \
    > runs/train_x2_stage2.log 2>&1 &
train --scale 4 --minutes 36 --batch 6 --lr 5e-4 --real-fraction 0.4 \
    --init runs/ultrais_x2_stage1.safetensors --out runs/ultrais_x4.safetensors \
    > runs/train_x4.log 2>&1
wait
train --scale 2 --minutes 14 --batch 8 --lr 3e-4 --real-fraction 0.6 \
    --init runs/ultrais_x2_stage2.safetensors --out runs/ultrais_x2_stage3.safetensors \
    > runs/train_x2_stage3.log 2>&1 &
train --scale 1 --minutes 12 --batch 12 --lr 5e-4 \
    --init runs/ultrais_x2_stage2.safetensors --out runs/ultrais_x1.safetensors
wait
# Session 2: x4 fine-tuned on more real pairs (stage 2, shipped as ultrais_x4.safetensors);
# then the SR stages of the evaluation's cascade baseline (c) (resources/baselines/).
train --scale 4 --minutes 75 --batch 6 --lr 3e-4 --real-fraction 0.7 --seed 7 \
    --init runs/ultrais_x4.safetensors --out runs/ultrais_x4_stage2.safetensors \
    > runs/train_x4_stage2.log 2>&1
for scale in 4 2; do
    $PY main.py train-cascade-sr --scale $scale --minutes 12 \
        --out resources/baselines/cascade_sr_x$scale.safetensors
done
# Session 3: training computes the photo context from the whole photo, as the engine does.
# x4 (shipped) from the session-2 x4 weights. This run predates the weight average (commit
# 11ac53d): with today's code the same command ships the averaged weights instead of the last.
train --scale 4 --minutes 85 --batch 6 --lr 3e-4 --real-fraction 0.7 --seed 11 \
    --init runs/ultrais_x4_stage2.safetensors --out runs/ultrais_x4_ctx_a.safetensors \
    > runs/train_x4_ctx_a.log 2>&1
train --scale 4 --minutes 35 --batch 6 --lr 1.5e-4 --real-fraction 0.7 --seed 21 \
    --init runs/ultrais_x4_ctx_a.safetensors --out runs/ultrais_x4_ctx_c.safetensors \
    > runs/train_x4_ctx_c.log 2>&1 &
# x2 (shipped) from the session-2 x2 weights, with the weight average, beside x4 "c".
train --scale 2 --minutes 45 --batch 8 --lr 3e-4 --real-fraction 0.6 --seed 13 \
    --init runs/ultrais_x2_stage3.safetensors --out runs/ultrais_x2_ctx.safetensors \
    > runs/train_x2_ctx.log 2>&1
wait
# Session 4 (weights format 2): night scenes and exposed photos in the data, the bounded night
# curve and the light full-resolution blocks. Seeded from the session-3 files (the format-1
# tensors whose name and shape match: train.initialise_from). x2 and x4 side by side, then x1
# from the new x2. The runs were restarted once from their checkpoints (--resume) after the
# residual's ceiling (network.add_below_ceiling) was added, 30 minutes in.
night() {
    train "$@" --real-fraction 0.25 --night-fraction 0.45 --exposed-fraction 0.25
}
night --scale 2 --minutes 100 --batch 8 --lr 5e-4 --seed 31 \
    --init runs/ultrais_x2_ctx.safetensors --out runs/night_x2.safetensors \
    > runs/night_x2.log 2>&1 &
night --scale 4 --minutes 100 --batch 6 --lr 5e-4 --seed 32 \
    --init runs/ultrais_x4_ctx_c.safetensors --out runs/night_x4.safetensors \
    > runs/night_x4.log 2>&1
wait
night --scale 1 --minutes 18 --batch 12 --lr 3e-4 --seed 33 \
    --init runs/night_x2.safetensors --out runs/night_x1.safetensors > runs/night_x1.log 2>&1
# Session 5 (weights format 3): the reflection stream's residual is added to the reflection v
# (not to the rendered output) and the sum is lit by the night curve, the residual fold keeps
# hue, night targets no longer whiten lamp cores, x4's last upsampling stage is its RGB head.
# Seeded from the format-2 files of commit 7b38ca2 without their heads and curve-strength MLPs
# (those meant the output-space residual; the new head starts at zero: the curve alone).
mkdir -p runs/shipped_f2
for scale in 1 2 4; do
    git show 7b38ca2:resources/weights/ultrais_x$scale.safetensors \
        > runs/shipped_f2/ultrais_x$scale.safetensors
done
$PY - <<'PYEOF'
from safetensors.torch import load_file, save_file
for scale in (2, 4):
    tensors = load_file(f"runs/shipped_f2/ultrais_x{scale}.safetensors")
    kept = {k: v for k, v in tensors.items() if not k.startswith(("head.", "strength."))}
    save_file(kept, f"runs/init_x{scale}.safetensors")
PYEOF
train --scale 4 --minutes 100 --batch 6 --lr 3e-4 --seed 41 --real-fraction 0.5 \
    --night-fraction 0.35 --exposed-fraction 0.25 --init runs/init_x4.safetensors \
    --out runs/r3_x4.safetensors > runs/r3_x4.log 2>&1 &
train --scale 2 --minutes 95 --batch 8 --lr 3e-4 --seed 42 --real-fraction 0.3 \
    --night-fraction 0.45 --exposed-fraction 0.25 --init runs/init_x2.safetensors \
    --out runs/r3_x2.safetensors > runs/r3_x2.log 2>&1
wait
# The runs were resumed once from their checkpoints 48 minutes in (--resume), when the
# lightness-order term went from weight 0.5 / tolerance 0.02 to 3 / 0.01 (losses.py).
# x1, 74 minutes into x2 and beside it: the x2 run's weight average (exported with
# `main.py export-average runs/r3_x2.ckpt.safetensors runs/mid3_x2.safetensors`) without its
# upsampler and head, plus the format-2 x1 file's upsampler; the head starts at zero.
x1_seed runs/mid3_x2.safetensors runs/shipped_f2/ultrais_x1.safetensors \
    runs/init_x1.safetensors upsampler.
train --scale 1 --minutes 25 --batch 10 --lr 3e-4 --seed 43 --real-fraction 0.3 \
    --night-fraction 0.45 --exposed-fraction 0.25 --init runs/init_x1.safetensors \
    --out runs/r3_x1.safetensors > runs/r3_x1.log 2>&1
# Session 6 (weights format 4): the illumination is the guidance under a photo-wide toe (no
# learnt per-pixel correction, which reordered tones), the illumination U-Net loses its
# full-resolution decoder level, and the semantic extractor starts at stride 2 (its new stem
# distilled from the format-3 extractor). Seeded from the format-3 files of commit 4532664.
mkdir -p runs/shipped_f3
for scale in 1 2 4; do
    git show 4532664:resources/weights/ultrais_x$scale.safetensors \
        > runs/shipped_f3/ultrais_x$scale.safetensors
done
$PY -c "
import logging, torch
from pathlib import Path
from safetensors.torch import save_file
from ultrais_core.training.semantic_distill import distil_semantic
logging.basicConfig(level=logging.INFO)
torch.set_num_threads(2)
# (session 6 read every second training photo, to keep memory low beside the other work)
student, _ = distil_semantic(Path('runs/shipped_f3/ultrais_x2.safetensors'), steps=1500)
save_file({f'semantic.{k}': v.contiguous() for k, v in student.state_dict().items()},
          'runs/semantic_f4.safetensors')
"
for scale in 1 2 4; do
    $PY scripts/format4_init.py runs/shipped_f3/ultrais_x$scale.safetensors \
        runs/semantic_f4.safetensors runs/init4_x$scale.safetensors
done
train --scale 4 --minutes 105 --batch 6 --lr 3e-4 --seed 51 --real-fraction 0.55 \
    --night-fraction 0.35 --exposed-fraction 0.25 --init runs/init4_x4.safetensors \
    --out runs/r4_x4.safetensors > runs/r4_x4.log 2>&1 &
train --scale 2 --minutes 95 --batch 8 --lr 3e-4 --seed 52 --real-fraction 0.3 \
    --night-fraction 0.45 --exposed-fraction 0.25 --init runs/init4_x2.safetensors \
    --out runs/r4_x2.safetensors > runs/r4_x2.log 2>&1
wait
# The runs were resumed once from their checkpoints 45 minutes in (--resume, same arguments),
# when the lightness-order term went from weight 3 to 20 (losses.py).
# x1, 65 minutes into x2 and beside it: the x2 run's weight average (`main.py export-average
# runs/r4_x2.ckpt.safetensors runs/mid4b_x2.safetensors`) without its upsampler and head, plus
# the format-3 x1 file's upsampler and head.
x1_seed runs/mid4b_x2.safetensors runs/init4_x1.safetensors runs/init4b_x1.safetensors \
    upsampler. head.
train --scale 1 --minutes 25 --batch 10 --lr 3e-4 --seed 53 --real-fraction 0.3 \
    --night-fraction 0.45 --exposed-fraction 0.25 --init runs/init4b_x1.safetensors \
    --out runs/r4_x1.safetensors > runs/r4_x1.log 2>&1
# Session 7: both runs continue from the shipped format-4 files, one thread each, beside each
# other. x4 trains longer, as it was (no relight term: it started before the term existed,
# hence --loss-weight relight=0); x2 trains
# with the relight term (losses.relight_term). A first x2 run at relight weight 1 / tolerance
# 0.03 (seed 62) broke colours within 250 steps and was stopped after 28 minutes.
train --scale 4 --minutes 140 --batch 6 --lr 2e-4 --seed 61 --real-fraction 0.55 \
    --night-fraction 0.35 --exposed-fraction 0.25 --loss-weight relight=0 \
    --init resources/weights/ultrais_x4.safetensors --out runs/r5_x4.safetensors > runs/r5_x4.log 2>&1 &
train --scale 2 --minutes 85 --batch 8 --lr 2e-4 --seed 63 --real-fraction 0.3 \
    --night-fraction 0.45 --exposed-fraction 0.25 --init resources/weights/ultrais_x2.safetensors \
    --out runs/r5_x2.safetensors > runs/r5_x2.log 2>&1
wait
# Sessions 8 and 9: x2 and x4 continue from the shipped files with the recipe that improved x4
# in session 7 (no relight term, real 0.55 / night 0.35 / exposed 0.25), one thread each.
# continue_shipped SCALE MINUTES BATCH SEED NAME [OPTION...] (a later --loss-weight of the same
# term wins)
continue_shipped() {
    train --scale "$1" --minutes "$2" --batch "$3" --seed "$4" --lr 2e-4 --real-fraction 0.55 \
        --night-fraction 0.35 --exposed-fraction 0.25 --loss-weight relight=0 \
        --loss-weight pixel_order=0 --init "resources/weights/ultrais_x$1.safetensors" \
        --out "runs/$5.safetensors" "${@:6}" > "runs/$5.log" 2>&1
}
continue_shipped 2 135 8 71 r6_x2 &
continue_shipped 4 90 6 72 r6_x4
wait
# Session 9: the session-8 runs were lost with their machine; the same recipe again, new seeds.
continue_shipped 2 120 8 91 r7_x2 &
continue_shipped 4 120 6 92 r7_x4
wait
# Session 10: the pixel-scale order term (losses.pixel_order_term, weight 150: the default
# since). Tried and stopped: x2 with the term charged against the input alone (weight 20, seed
# 102, 30 min: 3 % of the loss; weight 150, seed 103, 50 min: selection-set order error 143 but
# synthetic PSNR 18.9 dB), and x4 with the session-9 recipe (seed 101, 73 min). Then both
# scales with the term as it is now, 45 minutes each, beside each other:
continue_shipped 2 45 8 105 r9_x2 --loss-weight pixel_order=150 &
continue_shipped 4 45 6 106 r9_x4 --loss-weight pixel_order=150
wait
# What shipped from session 10 (chosen on the selection set, see the model card):
# x2 = 0.15 x the session-9 shipped x2 + 0.85 x runs/r9_x2.m030 (the 30-minute average), tensor
# by tensor (the run alone was 0.04 dB under the synthetic split's PSNR bound; 0.7 was also
# tried); x4 = runs/r9_x4.m030.
$PY - <<'PYEOF'
import torch
from ultrais_core.weights import load_weights, save_weights
shipped, _ = load_weights("resources/weights/ultrais_x2.safetensors", device=torch.device("cpu"))
run, _ = load_weights("runs/r9_x2.m030.safetensors", device=torch.device("cpu"))
tuned = run.state_dict()
shipped.load_state_dict({k: 0.15 * v + 0.85 * tuned[k] for k, v in shipped.state_dict().items()})
save_weights(shipped, "runs/b9_x2.safetensors")
PYEOF
mv runs/b9_x2.safetensors resources/weights/ultrais_x2.safetensors
cp runs/r9_x4.m030.safetensors resources/weights/ultrais_x4.safetensors
# Session 11: x4 continues from the session-10 file, same recipe, 75 minutes (seed 112),
# beside an x2 run with more synthetic pairs (real 0.45, seed 111; not shipped: no better on
# the selection set). x4 ships its 45-minute weight average (lowest selection-set order error
# of the 30/45/60/75-minute averages, all within the gates).
continue_shipped 2 75 8 111 r10_x2 --loss-weight pixel_order=150 --real-fraction 0.45 &
continue_shipped 4 75 6 112 r10_x4 --loss-weight pixel_order=150
wait
cp runs/r10_x4.m045.safetensors resources/weights/ultrais_x4.safetensors
# Tried and not shipped (model card): x2 with the order term at tolerance 2/255 and a 1/255
# margin (pixel_order_term(..., tolerance=2 / 255, margin=1 / 255) in losses.total_loss), 40
# minutes from the shipped file, weight 150 (seed 121, r11a_x2) and 300 (seed 122, r11b_x2).
# Session 12: x1 continues from its session-6 file with the session-10 recipe (pixel order term
# at weight 150), 70 minutes, one thread, beside three x2 runs from the session-10 x2 file with
# the order term's tolerance and margin on every item but the daylight under-exposures
# (`--order-tolerance`, `--order-margin`): a 1/255 margin alone (seed 141, stopped at 36
# minutes), with the tolerance at 2/255 (seed 142), and the same with more daylight pairs
# (seed 143). What shipped (chosen on the selection set, see the model card): x1 = the 30-minute
# average, x2 = the third run's 15-minute average.
continue_shipped 1 70 10 131 r12_x1 --loss-weight pixel_order=150 &
continue_shipped 2 50 8 141 r12_x2 --loss-weight pixel_order=150 --order-margin 1
continue_shipped 2 45 8 142 r12b_x2 --loss-weight pixel_order=150 --order-tolerance 2 \
    --order-margin 1
wait
continue_shipped 2 40 8 143 r12c_x2 --loss-weight pixel_order=150 --order-tolerance 2 \
    --order-margin 1 --real-fraction 0.4 --night-fraction 0.2 --exposed-fraction 0.15
cp runs/r12_x1.m030.safetensors resources/weights/ultrais_x1.safetensors
cp runs/r12c_x2.m015.safetensors resources/weights/ultrais_x2.safetensors
