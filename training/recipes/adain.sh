#!/usr/bin/env bash
# AdaIN (Huang & Belongie 2017) trained on the corpus's train split: the decoder of a frozen hed-vgg16 encoder
# cut at relu4_1, content loss against the AdaIN target plus 10 x the mean/std loss over relu1_1..relu4_1.
# The shipped checkpoints/adain.safetensors is this recipe on this machine's CPU (docs/baselines.md).
#
#   CORPUS_DIR=/path/to/corpus training/recipes/adain.sh [RUN_DIR]      # default RUN_DIR: runs/adain
#   cp RUN_DIR/model.safetensors checkpoints/adain.safetensors
#
# CORPUS_DIR: the corpus root, holding train/photos and train/paintings (folders of images, searched recursively).
# Re-running resumes from RUN_DIR/train_state.safetensors. DEVICE=cuda trains the GPU variant: the paper's
# batch of 8 and 256 px crops of images resized to 512 px, from its learning rate of 1e-4, for STEPS steps.
# STEPS, MINUTES (a wall-clock bound; the run saves and stops there) and THREADS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
corpus=${CORPUS_DIR:?set CORPUS_DIR to the corpus root (it holds train/photos and train/paintings)}
run=${1:-runs/adain}
VST=${VST:-.venv/bin/vst}
device=${DEVICE:-cpu}
common=(--method adain --device "$device" --resume --content "$corpus/train/photos" --style "$corpus/train/paintings"
  --out "$run" --seed 0 --log-every 10 ${MINUTES:+--max-minutes "$MINUTES"})
mkdir -p "$run"
export OMP_NUM_THREADS=${THREADS:-1}
if [ "$device" = cuda ]; then
  "$VST" train-baseline "${common[@]}" --batch 8 --lr 1e-4 --lr-final 1e-5 --short-side 512 --content-sizes "256,256" \
    --style-sizes "256,256" --steps "${STEPS:-20000}" --num-workers 4 --save-every 1000 --sample-every 1000
else
  # Two legs, as the shipped file was trained: 1,000 steps at a constant 5e-4, then (resumed) a linear decay
  # to 5e-5 at step 2,100; the decay is scheduled from step 0, so the second leg starts at about 2.8e-4.
  cpu=(--batch 4 --lr 5e-4 --short-side 192 --content-sizes "128,160" --style-sizes "128,160" --num-workers 0
    --save-every 100 --sample-every 250)
  "$VST" train-baseline "${common[@]}" "${cpu[@]}" --steps 1000
  "$VST" train-baseline "${common[@]}" "${cpu[@]}" --steps "${STEPS:-2100}" --lr-final 5e-5
fi
