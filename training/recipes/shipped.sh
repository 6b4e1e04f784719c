#!/usr/bin/env bash
# Reproduce the shipped checkpoint and its deterministic baseline, on a 2-core CPU:
# a deterministic stem (the baseline's flags, seed 2, batch 8, 900 steps), then both networks branched from
# its step-900 snapshot with fresh Adam states, at batch 16 for 450 steps, side by side at one thread each;
# the last five snapshots (1,170-1,350) of each averaged. See docs/model-card.md.
#
#   training/recipes/shipped.sh [RUNS_DIR]    # default runs/shipped; about 30 + 65 minutes here
#   cp RUNS_DIR/ours-avg.safetensors checkpoints/vst-default.safetensors
set -euo pipefail
cd "$(dirname "$0")/../.."
VST=${VST:-.venv/bin/vst}
runs=${1:-runs/shipped}
mkdir -p "$runs"
shared=(--seed 2 --num-workers 0 --content-weight 2 --mean-std-weight 3 --color-weight 5 --tone-weight 1
  --content-sizes "128,176" --style-sizes "128,224" --diversity-target 0.03 --style-color-jitter 0 --log-every 10)
base=(--kl-weight 0 --triplet-weight 0 --diversity-weight 0)
ours=(--decoder-noise --kl-weight 0.0005 --triplet-weight 0.02 --diversity-weight 5 --mean-code-share 0.75)

OMP_NUM_THREADS=2 "$VST" train --out "$runs/stem" "${shared[@]}" "${base[@]}" --batch 8 --steps 900 --lr 1e-3 \
  --snapshot-every 90 --save-every 90 --sample-every 450
branch=("${shared[@]}" --init-from "$runs/stem/snapshots/model_step000900.safetensors" --batch 16 --steps 1350
  --lr 1e-3 --lr-final 5e-5 --lr-decay-start 900 --kl-warmup 450 --snapshot-every 45 --sample-every 225 --save-every 45)
OMP_NUM_THREADS=1 "$VST" train --out "$runs/base" "${branch[@]}" "${base[@]}" > "$runs/base.log" 2>&1 &
OMP_NUM_THREADS=1 "$VST" train --out "$runs/ours" "${branch[@]}" "${ours[@]}" > "$runs/ours.log" 2>&1 &
wait
for arm in base ours; do
  snaps=("$runs/$arm"/snapshots/*.safetensors)  # zero-padded step numbers: the glob's order is the steps'
  "$VST" average "${snaps[@]: -5}" --out "$runs/$arm-avg.safetensors"
done
