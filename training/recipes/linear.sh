#!/usr/bin/env bash
# Linear (Li et al. 2019, the fast relu3_1 variant) trained on the corpus's train split, in the paper's two
# stages: the decoder of a frozen hed-vgg16 encoder cut at relu3_1 learns to reconstruct (pixel + feature MSE,
# the first --recon-steps), then, with the decoder frozen, the transformation module learns with the content
# loss at relu4_1 plus 0.02 x the mean-and-Gram style loss over relu1_1..relu4_1.
# The shipped checkpoints/linear.safetensors is this recipe's save at step 3,000 on this machine's CPU, where it
# was stopped for time (docs/baselines.md); MINUTES bounds a run the same way.
#
#   CORPUS_DIR=/path/to/corpus training/recipes/linear.sh [RUN_DIR]     # default RUN_DIR: runs/linear
#   cp RUN_DIR/model.safetensors checkpoints/linear.safetensors
#
# CORPUS_DIR: the corpus root, holding train/photos and train/paintings (folders of images, searched recursively).
# Re-running resumes from RUN_DIR/train_state.safetensors. DEVICE=cuda trains the GPU variant: batch 8 and
# 256 px crops of images resized to 512 px at a learning rate of 1e-4, for STEPS steps (RECON_STEPS of them
# reconstruction). STEPS, RECON_STEPS, MINUTES (a wall-clock bound) and THREADS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${CORPUS_DIR:?set CORPUS_DIR to the corpus root (it holds train/photos and train/paintings)}
run=${1:-runs/linear}
VST=${VST:-.venv/bin/vst}
device=${DEVICE:-cpu}
if [ "$device" = cuda ]; then
  settings=(--batch 8 --lr 1e-4 --lr-final 1e-5 --short-side 512 --content-sizes "256,256" --style-sizes "256,256"
    --steps "${STEPS:-20000}" --recon-steps "${RECON_STEPS:-5000}" --num-workers 4 --save-every 1000
    --sample-every 1000)
else
  # 5e-4 through the reconstruction, then decaying linearly to 5e-5 over the transformation's steps.
  settings=(--batch 4 --lr 5e-4 --lr-final 5e-5 --short-side 192 --content-sizes "128,160" --style-sizes "128,160"
    --steps "${STEPS:-3300}" --recon-steps "${RECON_STEPS:-1600}" --num-workers 0 --save-every 100
    --sample-every 250)
fi
mkdir -p "$run"
OMP_NUM_THREADS=${THREADS:-1} "$VST" train-baseline --method linear --depth 3 --device "$device" --resume \
  --content "$corpus/train/photos" --style "$corpus/train/paintings" --out "$run" --seed 0 --log-every 10 \
  "${settings[@]}" ${MINUTES:+--max-minutes "$MINUTES"}
