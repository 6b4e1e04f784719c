#!/bin/sh
# Every benchmark in order, then docs/benchmarks.md from their results. Run from the repository root:
#   sh bench/run_all.sh            (add QUICK=1 for a short smoke run into /tmp/vst-bench instead of docs/)
set -eu
PY=${PYTHON:-.venv/bin/python}
if [ "${QUICK:-0}" = 1 ]; then
    OUT=/tmp/vst-bench
    $PY bench/latency.py --json --sides 256 512 --repeats 1 --contents 3 --out $OUT
    $PY bench/latency.py --threads 1 --sides 512 --repeats 1 --contents 3 --no-memory --no-speed-work --out $OUT/one_thread
    $PY bench/speed_levers.py --repeats 3 --out $OUT
    $PY bench/load/run_load.py --users 4 --duration 20 --latency-runs 2 --out $OUT
    $PY bench/quality.py --contents 2 --styles 2 --gatys-pairs 1 --gatys-steps 5 --sweep-contents 1 --out $OUT --sheet $OUT/quality_contact_sheet.png
    $PY bench/report.py --bench $OUT --page $OUT/benchmarks.md
    exit 0
fi
uptime
$PY bench/latency.py --json
$PY bench/latency.py --threads 1 --no-memory --no-speed-work --out docs/bench/one_thread
OMP_WAIT_POLICY=PASSIVE $PY bench/latency.py --no-memory --no-speed-work --out docs/bench/omp_passive
$PY bench/speed_levers.py --compile
$PY bench/speed_levers.py --default-allocator
$PY bench/contention.py
$PY bench/encode_formats.py
$PY bench/load/run_load.py
OMP_WAIT_POLICY=PASSIVE $PY bench/load/run_load.py --latency-runs 0 --out docs/bench/omp_passive
$PY bench/quality.py
$PY bench/gpu_throughput.py
$PY bench/gpu_throughput.py --device cpu --batches 1 2 4 --dtypes bfloat16
$PY bench/report.py
uptime
