#!/usr/bin/env bash
# Build a local Debian base image with debootstrap + `docker import`, for machines that cannot
# reach an image registry. The images in docker/Dockerfile take it through their BASE_IMAGE build arg.
#
#   docker/build-base.sh [TAG]            (default TAG: vst-local/debian:bookworm)
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), DEBIAN_SUITE (default bookworm).
# Needs root, debootstrap and a running Docker engine. The image carries Debian's own CA certificates
# only: the host's CA bundle is handed to pip at build time as a BuildKit secret, never baked in.
set -euo pipefail

tag="${1:-vst-local/debian:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${DEBIAN_SUITE:-bookworm}"
docker_cli="${DOCKER:-docker}"

if [[ $(id -u) -ne 0 ]]; then
    echo "build-base.sh: debootstrap needs root" >&2
    exit 1
fi
command -v debootstrap >/dev/null || { echo "build-base.sh: install debootstrap (apt-get install -y debootstrap)" >&2; exit 1; }

rootfs="$(mktemp -d /var/tmp/vst-rootfs.XXXXXX)"
cleanup() {
    # A debootstrap that failed half-way can leave /proc and /sys mounted inside the tree.
    umount -R "$rootfs/proc" "$rootfs/sys" 2>/dev/null || true
    rm -rf --one-file-system "$rootfs" "$rootfs.log"
}
trap cleanup EXIT

# python3-venv: the images build their virtual environment with the base's own interpreter (3.11 on bookworm).
nice -n 10 debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }

# debootstrap copies the host's resolver and name in; Docker provides both at run time, so the image
# must not keep the host's copies. Package caches, manuals and translations are dead weight in an image
# (the copyright files under /usr/share/doc stay).
: >"$rootfs/etc/resolv.conf"
echo localhost >"$rootfs/etc/hostname"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*

tar --numeric-owner --one-file-system -C "$rootfs" -c . | "$docker_cli" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    - "$tag" >/dev/null
echo "$tag"
