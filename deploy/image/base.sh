#!/usr/bin/env bash
# The image's base, made from Debian's archive: no container registry is reachable from the
# machines this project is built and tested on. `debootstrap --variant=minbase` writes a
# bookworm root file system (with the Python the image runs on) straight into a buildah
# working container, which is committed as a local image in buildah's vfs storage under
# BUILDAH_ROOT and BUILDAH_RUNROOT (deploy/image/build.sh sets them and calls this when the
# base is missing). Needs root, as debootstrap does. Production builds use a registry's
# python:3.11-slim-bookworm instead (docs/deploy.md).
#
#   deploy/image/base.sh IMAGE_NAME
#
# Packages: python3.11 (the interpreter uv.lock is resolved for), python3-venv (ensurepip,
# so the builder stage can pip-install uv into a venv of its own: Debian's python is
# "externally managed"), ca-certificates (TLS to PyPI in the build, to Google at run time).
# Everything else the wheels need (libstdc++, libgcc) is in minbase already.
set -euo pipefail
image=${1:?usage: base.sh IMAGE_NAME}
buildah=(buildah --root "${BUILDAH_ROOT:?}" --runroot "${BUILDAH_RUNROOT:?}" --storage-driver vfs)
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3.11,python3-venv,ca-certificates

container=$("${buildah[@]}" from scratch)
trap '"${buildah[@]}" rm "$container" >/dev/null 2>&1 || true' EXIT
rootfs=$("${buildah[@]}" mount "$container")
start=$SECONDS
# dpkg without an fsync per file while debootstrap installs (~40 % faster here); the image
# is committed afterwards, so nothing relies on those syncs. Removed below.
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/retail-build-unsafe-io"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
    >"${BASE_LOG:-/dev/null}" 2>&1; then
  echo "debootstrap failed${BASE_LOG:+: see $BASE_LOG}" >&2
  exit 1
fi
# What a container never needs: downloaded .debs, package lists (apt-get update brings
# them back) and the install's logs, as the official Debian and Python images do.
rm -rf "$rootfs/etc/dpkg/dpkg.cfg.d/retail-build-unsafe-io" \
  "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/debootstrap
find "$rootfs/var/log" -type f -delete
echo "debootstrap ($suite minbase + $packages): $((SECONDS - start)) s"
"${buildah[@]}" umount "$container" >/dev/null
"${buildah[@]}" config --env LANG=C.UTF-8 --cmd /bin/bash \
  --label org.opencontainers.image.description="Debian $suite minbase + $packages" \
  "$container"
"${buildah[@]}" commit --quiet --rm "$container" "$image" >/dev/null
trap - EXIT
