#!/usr/bin/env bash
# Known vulnerabilities in the locked dependencies (requirements.lock), with pip-audit: `make audit`.
#
# pip-audit looks each pin up in a vulnerability service: PyPI's per-release JSON API (its default) or
# OSV. It is run with --strict, because without it a pin the service cannot find is skipped with exit 0,
# which reads as a pass. Where neither service can be reached (this project's build machines reach PyPI
# only through its package index: the per-release JSON API answers 404 there, and api.osv.dev does not
# resolve), nothing can be audited: the script says so loudly, names what it tried, and exits 0, or 1
# when VST_AUDIT_REQUIRED=1 (set that wherever the services are reachable, so that a network fault cannot
# pass for a clean audit).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
LOCK=requirements.lock

service=$("$PYTHON" - "$LOCK" <<'PY'
import json
import sys
import urllib.request

name, version = next(
    line.strip().split("==") for line in open(sys.argv[1]) if line.strip() and not line.startswith("#")
)
probes = {
    "pypi": urllib.request.Request(f"https://pypi.org/pypi/{name}/{version}/json"),
    "osv": urllib.request.Request(
        "https://api.osv.dev/v1/query",
        data=json.dumps({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).encode(),
        headers={"Content-Type": "application/json"},
    ),
}
for service, request in probes.items():
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            body = json.load(response)
        if "vulnerabilities" in body or service == "osv":
            print(service)
            sys.exit(0)
        print(f"{service}: answered without vulnerability data", file=sys.stderr)
    except Exception as exc:  # noqa: BLE001 - any failure means: this service cannot be used here
        print(f"{service}: {request.full_url}: {exc}", file=sys.stderr)
PY
) || true

if [[ -z "$service" ]]; then
    echo "pip-audit: NOT RUN - no vulnerability service is reachable from this machine (see above);" >&2
    echo "pip-audit: $LOCK was not checked for known vulnerabilities. Run 'make audit' where PyPI's JSON API or OSV is reachable." >&2
    [[ "${VST_AUDIT_REQUIRED:-0}" == 1 ]] && exit 1
    exit 0
fi
echo "pip-audit: checking $(grep -c '==' "$LOCK") pins of $LOCK against the $service vulnerability service"
"$PYTHON" -m pip_audit --strict --no-deps --disable-pip --progress-spinner off -s "$service" -r "$LOCK"
