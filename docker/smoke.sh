#!/usr/bin/env bash
# End-to-end check of the Docker setup on a machine without an image registry (docs/docker.md):
#
#   1. start dockerd if none runs (installing docker.io and docker-compose from Debian if missing);
#   2. build a local Debian base image (debootstrap + docker import, docker/build-base.sh);
#   3. build the redis, api and worker (CPU variant) images on that base, pip trusting the host's CA
#      bundle through a BuildKit secret; check that api and worker run as uid 10001, that the api has no
#      torch, and that no layer holds a host path or a CA certificate only the host trusts;
#   4. docker-compose up -d: redis, the api and two CPU workers (--scale), until /readyz lists both;
#   5. stylize one bundled photo through the API (POST /stylize, poll /jobs/{id}, GET the result), check
#      that the answer is a PNG of the expected size and print its size and the time taken; check that
#      each worker loaded the checkpoint once and that SIGTERM stops the workers with exit code 0;
#   6. tear everything down (also on failure): containers, network, volumes, and dockerd if it started it.
#
#   docker/smoke.sh [--clean] [--rmi] [--trainer]
#     --clean    remove this script's images (and the base) first, so everything is built from nothing
#     --rmi      remove the images at the end too
#     --trainer  also build the trainer image and run two training steps in it
#
# Needs root (apt-get, dockerd, debootstrap) and PyPI plus a Debian mirror; builds run under `nice`.
# VST_SMOKE_RESULT=PATH keeps a copy of the stylized PNG; VST_SMOKE_CHECKPOINT=FILE serves that checkpoint.
# The CPU worker installs torch from PyPI (TORCH_CPU_INDEX_URL below), which is the CUDA build (5.6 GiB of
# image), because PyTorch's own CPU wheel index cannot be reached here: see docs/docker.md.
set -euo pipefail

cd "$(dirname "$0")/.."
repo_root="$PWD"

clean=0 rmi=0 trainer=0
for arg in "$@"; do
    case "$arg" in
        --clean) clean=1 ;;
        --rmi) rmi=1 ;;
        --trainer) trainer=1 ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "smoke.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

base_image="${VST_SMOKE_BASE_IMAGE:-vst-local/debian:bookworm}"
redis_image="vst-smoke/redis:local"
api_image="vst-smoke/api:local"
worker_image="vst-smoke/worker:cpu"
trainer_image="vst-smoke/trainer:cpu"
ca_bundle="${VST_SMOKE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
torch_index="${VST_SMOKE_TORCH_INDEX_URL:-https://pypi.org/simple}"
project="vst-smoke"
content_image="data/eval/content/kodak_kodim15.jpg"
max_side=384
workers=2

t0=$(date +%s)
log() { printf '[smoke %4ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
seconds_since() { echo "$(($(date +%s) - $1))"; }

started_dockerd_pid=""
work_dir="$(mktemp -d)"
compose_up=0

compose_files=(-f "$repo_root/docker-compose.yml")
compose() { docker-compose -p "$project" "${compose_files[@]}" "$@"; }

teardown() {
    local status=$?
    set +e
    if [[ $compose_up -eq 1 ]]; then
        if [[ $status -ne 0 ]]; then
            log "logs of the failed run:"
            compose logs --no-color --tail 40 2>&1 | sed 's/^/    /'
        fi
        log "tearing down: docker-compose down -v"
        compose down -v --remove-orphans >/dev/null 2>&1
    fi
    if [[ $rmi -eq 1 ]]; then
        docker image rm -f "$redis_image" "$api_image" "$worker_image" "$trainer_image" >/dev/null 2>&1
    fi
    if [[ -n "$started_dockerd_pid" ]]; then
        log "stopping the dockerd this script started (pid $started_dockerd_pid)"
        kill "$started_dockerd_pid" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$started_dockerd_pid" 2>/dev/null || break; sleep 1; done
    fi
    rm -rf "$work_dir"
    if [[ $status -eq 0 ]]; then log "PASS"; else log "FAILED (exit $status)"; fi
    exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# --- 1. the engine ---------------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || fail "run as root (apt-get, dockerd and debootstrap need it)"
[[ -f checkpoints/vst-default.safetensors ]] || fail "checkpoints/vst-default.safetensors is missing: the worker image carries it"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v curl >/dev/null || missing+=(curl)
if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    dockerd >"$work_dir/dockerd.log" 2>&1 &
    started_dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -n 20 "$work_dir/dockerd.log"; fail "dockerd did not come up"; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null || echo '?')"

# BuildKit is needed for the secret and bind mounts in docker/Dockerfile. A docker CLI of 23+ needs the
# buildx plugin for it; Debian's 20.10 CLI has it built in. Use whichever can.
build_cli=""
for candidate in docker /usr/bin/docker; do
    if DOCKER_BUILDKIT=1 "$candidate" build --help 2>/dev/null | grep -q -- '--secret'; then
        build_cli="$candidate"
        break
    fi
done
[[ -n "$build_cli" ]] || fail "no docker CLI with BuildKit (--secret) found; install docker-buildx or Debian's docker.io"

# --- 2. images -------------------------------------------------------------------------------------------
if [[ $clean -eq 1 ]]; then
    log "--clean: removing previous images and build cache"
    docker image rm -f "$redis_image" "$api_image" "$worker_image" "$trainer_image" "$base_image" >/dev/null 2>&1 || true
    docker builder prune -af >/dev/null 2>&1 || true
fi

image_mib() { docker image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1048576}'; }

if docker image inspect "$base_image" >/dev/null 2>&1; then
    log "base image $base_image exists (docker/smoke.sh --clean rebuilds it)"
else
    log "building the base image $base_image (debootstrap)"
    start=$(date +%s)
    DOCKER="$build_cli" docker/build-base.sh "$base_image" >/dev/null
    log "built $base_image in $(seconds_since "$start") s: $(image_mib "$base_image") MiB"
fi

build() {  # build IMAGE DOCKERFILE [ARGS...]
    local image="$1" dockerfile="$2" start
    shift 2
    start=$(date +%s)
    if ! DOCKER_BUILDKIT=1 nice -n 10 "$build_cli" build --progress=plain \
        --secret "id=pip_ca,src=$ca_bundle" \
        --build-arg "BASE_IMAGE=$base_image" --label vst.smoke=1 \
        -f "$dockerfile" -t "$image" "$@" . >"$work_dir/build.log" 2>&1; then
        tail -n 40 "$work_dir/build.log"
        fail "building $image"
    fi
    log "built $image in $(seconds_since "$start") s: $(image_mib "$image") MiB"
}

build "$redis_image" docker/redis.Dockerfile
build "$api_image" docker/Dockerfile --target api
build "$worker_image" docker/Dockerfile --target worker \
    --build-arg TORCH_VARIANT=cpu --build-arg "TORCH_CPU_INDEX_URL=$torch_index"
images=("$redis_image" "$api_image" "$worker_image")
if [[ $trainer -eq 1 ]]; then
    build "$trainer_image" docker/Dockerfile --target trainer \
        --build-arg TORCH_VARIANT=cpu --build-arg "TORCH_CPU_INDEX_URL=$torch_index"
    images+=("$trainer_image")
fi
# A rebuild moves the tag and leaves the previous image dangling: drop those of this script only.
docker image prune -f --filter label=vst.smoke=1 >/dev/null

# --- 3. what went into the images ------------------------------------------------------------------------
for image in "$api_image" "$worker_image"; do
    user="$(docker image inspect --format '{{.Config.User}}' "$image")"
    [[ "$user" == "10001:10001" ]] || fail "$image runs as '${user:-root}', not the unprivileged 10001"
done
docker run --rm "$api_image" python3 -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is not None)' \
    || fail "$api_image contains torch"
log "api and worker run as uid 10001; the api image has no torch"

# The certificates that only the host trusts (its own CAs, e.g. a TLS-inspecting proxy's): none of them
# may be found in an image. Plus: no image's history names this checkout's path or the CA bundle's.
docker run --rm "$base_image" cat /etc/ssl/certs/ca-certificates.crt >"$work_dir/base-ca.crt" 2>/dev/null || : >"$work_dir/base-ca.crt"
python3 - "$ca_bundle" "$work_dir/base-ca.crt" >"$work_dir/host-only-lines.txt" <<'EOF'
import re, sys
def blocks(path):
    text = open(path, encoding="ascii", errors="replace").read()
    return set(re.findall(r"-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----", text, re.S))
for block in sorted(blocks(sys.argv[1]) - blocks(sys.argv[2])):
    lines = block.split()
    print(lines[len(lines) // 2])  # a line of key material: unique to the certificate
EOF
for image in "${images[@]}"; do
    if docker history --no-trunc --format '{{.CreatedBy}}' "$image" | grep -q -F -e "$repo_root" -e "$ca_bundle"; then
        fail "$image's history names a host path"
    fi
done
# Every layer is searched, not just the merged file system, so that a file a later layer deleted is found too.
# With overlay2 the layers lie unpacked on disk (each shared layer once); otherwise `docker save` streams them.
if [[ -s "$work_dir/host-only-lines.txt" ]]; then
    if [[ "$(docker info --format '{{.Driver}}')" == overlay2 ]]; then
        mapfile -t layers < <(for image in "$base_image" "${images[@]}"; do
            docker image inspect --format '{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}' "$image"
        done | tr ':' '\n' | grep '^/' | sort -u)
        leaked="$(grep -r -a -l -D skip -F -f "$work_dir/host-only-lines.txt" "${layers[@]}" | head -n 3 || true)"
    else
        leaked="$(docker save "$base_image" "${images[@]}" | grep -a -c -F -f "$work_dir/host-only-lines.txt" | grep -v '^0$' || true)"
    fi
    [[ -z "$leaked" ]] || fail "an image layer contains a certificate only the host trusts: $leaked"
fi
log "no host path in any image history; none of the host's $(wc -l <"$work_dir/host-only-lines.txt") own CA certificates in any layer"

# --- 4. the stack ----------------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export VST_API_BIND=127.0.0.1 VST_API_PORT="$port" VST_BASE_IMAGE="$base_image" \
    VST_REDIS_IMAGE="$redis_image" VST_API_IMAGE="$api_image" VST_WORKER_CPU_IMAGE="$worker_image" \
    VST_TRAINER_CPU_IMAGE="$trainer_image"
api="http://127.0.0.1:$port"
# The stack runs as it would in production: with an API key, which every job request must carry.
VST_API_KEYS="smoke-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export VST_API_KEYS
auth=(-H "X-API-Key: $VST_API_KEYS")

# VST_SMOKE_CHECKPOINT=FILE: the workers serve that checkpoint instead of the one in the image, mounted read-only
# as an override file would do it (docs/docker.md), e.g. to try a candidate model in the real stack.
if [[ -n "${VST_SMOKE_CHECKPOINT:-}" ]]; then
    checkpoint="$(realpath "$VST_SMOKE_CHECKPOINT")"
    [[ -f "$checkpoint" ]] || fail "VST_SMOKE_CHECKPOINT: no file $VST_SMOKE_CHECKPOINT"
    cat >"$work_dir/checkpoint.yml" <<EOF
services:
  worker-cpu:
    volumes: ["$checkpoint:/models/candidate.safetensors:ro"]
    environment:
      VST_CHECKPOINT: /models/candidate.safetensors
EOF
    compose_files+=(-f "$work_dir/checkpoint.yml")
    log "workers serve $checkpoint (VST_SMOKE_CHECKPOINT)"
fi
compose config -q
log "docker-compose up -d (redis, api, $workers CPU workers) on $api"
compose_up=1
start=$(date +%s)
compose up -d --no-build --scale "worker-cpu=$workers" api worker-cpu 2>&1 | sed 's/^/    /'
# Ready means: /readyz says so (Redis reachable, a worker with the model loaded), and every worker has
# announced itself there.
workers_ready() {
    curl -fsS -o "$work_dir/readyz.json" "$api/readyz" 2>/dev/null &&
        python3 -c 'import json, sys; sys.exit(len(json.load(open(sys.argv[1]))["workers"]) < int(sys.argv[2]))' \
            "$work_dir/readyz.json" "$workers"
}
# A container that exited (and was restarted by its restart policy) will not get ready: stop waiting.
restarts() { compose ps -q | xargs -r docker inspect --format '{{.RestartCount}}' | awk '{n += $1} END {print n + 0}'; }
ready=0
for _ in $(seq 180); do
    if workers_ready; then ready=1; break; fi
    [[ "$(restarts)" == 0 ]] || fail "a container exited while starting (logs below)"
    sleep 1
done
[[ $ready -eq 1 ]] || { curl -sS "$api/readyz" || true; echo; fail "the stack did not become ready in 180 s"; }
log "stack ready in $(seconds_since "$start") s (GET /readyz: $(head -c 300 "$work_dir/readyz.json"))"
running="$(compose ps -q worker-cpu | xargs -r docker inspect --format '{{.State.Running}}' | grep -c true || true)"
[[ "$running" == "$workers" ]] || fail "expected $workers running workers, found $running"
log "$running worker containers running (--scale worker-cpu=$workers), all ready"

# --- 5. one job through the API --------------------------------------------------------------------------
style_image="$(find data/eval/style -maxdepth 1 -name '*.jpg' | sort | head -n 1)"
log "POST /stylize content=$content_image style=$style_image max_side=$max_side"
start_ms=$(date +%s%3N)
http_code="$(curl -sS "${auth[@]}" -o "$work_dir/submit.json" -w '%{http_code}' \
    -F "content=@$content_image" -F "style=@$style_image" -F "max_side=$max_side" -F format=png \
    "$api/stylize")"
[[ "$http_code" == "202" ]] || { cat "$work_dir/submit.json"; echo; fail "POST /stylize answered $http_code, not 202"; }
job_id="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$work_dir/submit.json")"
status=""
for _ in $(seq 300); do
    curl -fsS "${auth[@]}" -o "$work_dir/job.json" "$api/jobs/$job_id"
    status="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$work_dir/job.json")"
    [[ "$status" == "finished" || "$status" == "failed" || "$status" == "canceled" ]] && break
    sleep 0.2
done
[[ "$status" == "finished" ]] || { cat "$work_dir/job.json"; echo; fail "job $job_id ended as '$status'"; }
http_code="$(curl -sS "${auth[@]}" -o "$work_dir/result.png" -w '%{http_code} %{content_type}' "$api/jobs/$job_id/result")"
elapsed_ms=$(($(date +%s%3N) - start_ms))
[[ "$http_code" == "200 image/png" ]] || fail "GET /jobs/$job_id/result answered '$http_code'"

# A real PNG whose longest side is max_side and whose aspect ratio is the content photo's.
png_size="$(python3 - "$work_dir/result.png" "$content_image" "$max_side" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
    sys.exit(f"not a PNG: {data[:16]!r}")
width, height = struct.unpack(">II", data[16:24])
content = open(sys.argv[2], "rb").read()
# The content photo's size from its JPEG SOF marker.
i = 2
while True:
    length = struct.unpack(">H", content[i + 2 : i + 4])[0]
    if content[i + 1] in (0xC0, 0xC1, 0xC2):
        src_h, src_w = struct.unpack(">HH", content[i + 5 : i + 9])
        break
    i += 2 + length
max_side = int(sys.argv[3])
if max(width, height) != max_side:
    sys.exit(f"result is {width}x{height}, expected the longest side to be {max_side}")
if abs(width / height - src_w / src_h) > 0.02:
    sys.exit(f"result {width}x{height} does not keep the content's aspect ratio {src_w}x{src_h}")
print(f"{width}x{height}")
EOF
)" || fail "the result is not the expected PNG"
if [[ -n "${VST_SMOKE_RESULT:-}" ]]; then cp "$work_dir/result.png" "$VST_SMOKE_RESULT"; fi
log "RESULT: job $job_id finished; PNG $png_size px, $(stat -c %s "$work_dir/result.png") bytes; submit-to-result $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s"
timings="$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print({k: v for k, v in d.items() if "tim" in k or k.endswith(("_at", "_s", "_ms"))})' "$work_dir/job.json")"
log "job timings reported by the API: $timings"

# Each worker loaded the checkpoint exactly once, however many jobs it ran.
for container in $(compose ps -q worker-cpu); do
    loads="$(docker logs "$container" 2>&1 | grep -c 'loaded .*safetensors' || true)"
    [[ "$loads" == "1" ]] || fail "worker $container logged $loads checkpoint loads, expected 1"
done
log "each worker loaded the checkpoint once: $(docker logs "$container" 2>&1 | grep -m1 -o 'loaded .*safetensors.*')"

# SIGTERM (docker stop) is a warm shutdown: the workers leave cleanly, with exit code 0.
compose stop -t 60 worker-cpu >/dev/null 2>&1
codes="$(compose ps -q worker-cpu | xargs -r docker inspect --format '{{.State.ExitCode}}' | sort -u | tr '\n' ' ')"
[[ "$codes" == "0 " ]] || fail "workers stopped with exit codes: $codes"
log "workers stopped on SIGTERM with exit code 0"

if [[ $trainer -eq 1 ]]; then
    log "trainer: two training steps on the bundled data"
    start=$(date +%s)
    compose --profile train-cpu run -T --rm trainer-cpu train --steps 2 --batch 2 --limit 4 \
        --log-every 1 --sample-every 0 --out runs/smoke 2>&1 | tail -n 5 | sed 's/^/    /'
    [[ ${PIPESTATUS[0]} -eq 0 ]] || fail "the trainer failed"
    log "trainer ran in $(seconds_since "$start") s"
fi
