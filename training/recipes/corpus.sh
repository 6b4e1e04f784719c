#!/usr/bin/env bash
# Train on a large corpus on the CPU, in legs: run it again and it resumes where the last leg stopped (weights,
# Adam moments, step and schedule), so a run can go on for many hours in pieces.
#
#   CORPUS=path/to/corpus/train training/recipes/corpus.sh RUN_DIR [MINUTES]
#
# CORPUS holds photos/ and paintings/ (recursive folders of images). MINUTES bounds this leg (default: no bound;
# the leg saves and exits cleanly when it is reached). Pre-resized to a short side of 224 px, 8,000 images fit in
# memory (about 1.6 GB). A snapshot every 250 steps; average the last few for the network to ship:
#   .venv/bin/vst average $(ls RUN_DIR/snapshots/*.safetensors | tail -5) --out RUN_DIR/averaged.safetensors
set -euo pipefail
cd "$(dirname "$0")/../.."
VST=${VST:-.venv/bin/vst}
run=${1:?usage: CORPUS=DIR $0 RUN_DIR [MINUTES]}
corpus=${CORPUS:?set CORPUS to a corpus split holding photos/ and paintings/}
# shellcheck source=training/recipes/corpus_flags.sh
source training/recipes/corpus_flags.sh
leg=()
[ -n "${2:-}" ] && leg=(--max-minutes "$2")
[ -f "$run/train_state.safetensors" ] && leg+=(--resume)
OMP_NUM_THREADS=${THREADS:-2} "$VST" train --content "$corpus/photos" --style "$corpus/paintings" --out "$run" \
  --short-side 224 "${CORPUS_MODEL_FLAGS[@]}" --batch 8 --steps "${STEPS:-20000}" --lr 1e-3 --seed 3 \
  --snapshot-every 250 --save-every 50 --sample-every 250 --log-every 10 "${leg[@]}"
