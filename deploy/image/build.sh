#!/usr/bin/env bash
# Builds the deployment's image (deploy/image/Containerfile) with buildah, the way CI
# builds it: `buildah bud --isolation chroot --storage-driver vfs`, in a storage of its own
# under .image-build/ (IMAGE_BUILD_DIR), so the machine's container storage is left alone.
#
#   deploy/image/build.sh        (make image)
#
# IMAGE        the tag to build (default localhost/retail-platform:latest)
# BASE_IMAGE   the base; by default a Debian bookworm minbase made from Debian's archive by
#              deploy/image/base.sh, made once per storage and version of base.sh
#
# Installs buildah, debootstrap (and iproute2) with apt-get when missing (as root: CI).
# The build reaches PyPI (uv.lock's wheels, hatchling, uv) through this machine's network:
# its CA bundle is passed as the build secret `ca-certificates` (for a TLS-intercepting
# proxy; never in the image), and its uv cache, when there is one, as the build's.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-localhost/retail-platform:latest}
build_dir=${IMAGE_BUILD_DIR:-$PWD/.image-build}
export BUILDAH_ROOT=$build_dir/storage BUILDAH_RUNROOT=$build_dir/run
buildah=(buildah --root "$BUILDAH_ROOT" --runroot "$BUILDAH_RUNROOT" --storage-driver vfs)

missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || [[ -n ${BASE_IMAGE:-} ]] || missing+=(debootstrap)
# `ip`: the image test runs the container in a network namespace with loopback only.
command -v ip >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "missing ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$build_dir"

if [[ -z ${BASE_IMAGE:-} ]]; then
  # A new base whenever base.sh changes (its packages, its clean-up).
  BASE_IMAGE=localhost/retail-platform-base:bookworm-$(sha256sum deploy/image/base.sh | cut -c1-12)
  if ! "${buildah[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "base image $BASE_IMAGE: debootstrap from Debian's archive (log: $build_dir/base.log)"
    BASE_LOG=$build_dir/base.log deploy/image/base.sh "$BASE_IMAGE"
  fi
fi

build_args=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
[[ -s /etc/ssl/certs/ca-certificates.crt ]] &&
  build_args+=(--secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt)
uv_cache=$(uv cache dir 2>/dev/null || .venv/bin/uv cache dir 2>/dev/null || true)
[[ -n $uv_cache && -d $uv_cache ]] && build_args+=(--volume "$uv_cache:/uv-cache")

echo "building $IMAGE from $BASE_IMAGE"
start=$SECONDS
"${buildah[@]}" bud --isolation chroot --layers=false --quiet \
  -f deploy/image/Containerfile "${build_args[@]}" -t "$IMAGE" . >/dev/null
# The builder stage's image is not kept (--layers=false); drop dangling leftovers.
"${buildah[@]}" rmi --prune >/dev/null 2>&1 || true
size=$("${buildah[@]}" images --format '{{.Size}}' "$IMAGE" | head -1)
echo "built $IMAGE in $((SECONDS - start)) s: $size (storage: $build_dir)"
