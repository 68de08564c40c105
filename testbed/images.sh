#!/usr/bin/env bash
# Build the local test/demo images without any registry: debootstrap a Debian bookworm rootfs,
# `docker import` it as the shared base, then build small Dockerfiles FROM that base.
#
# Idempotent: every image is tagged with a hash of its recipe (`:r-<12hex>`, plus the label
# `specctl.recipe=<hash>`) and rebuilt only when that hash changes. See testbed/images/README.md.
#
# Usage (from anywhere, as root, after testbed/engine.sh):  bash testbed/images.sh
# Env: SPECCTL_TESTBED_MIRROR (default http://deb.debian.org/debian)
#      SPECCTL_TESTBED_CACHE  (default /var/cache/specctl-testbed; holds the rootfs tarball)
#      SPECCTL_TESTBED_KEEP_OLD=1  keep stale r-<hash> tags instead of untagging them
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES_DIR=$HERE/images
CACHE_DIR=${SPECCTL_TESTBED_CACHE:-/var/cache/specctl-testbed}
MIRROR=${SPECCTL_TESTBED_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
REPO=specctl-testbed
# Bump when images.sh changes how images are produced in a way the recipe files don't capture.
RECIPE_SCHEMA=1

export DOCKER_BUILDKIT=0   # legacy builder: no buildx needed, never pulls a FROM that exists locally

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

start_ts=$(date +%s)
results=()     # lines printed at the end
current_tags=() # r-<hash> tags that are current (everything else under $REPO/*:r-* is stale)

# --- hashing ------------------------------------------------------------------------------------

# Stable listing of a directory's files: relative path, executable bit, content sha256.
dir_manifest() {
  local dir=$1 f x
  (
    cd "$dir"
    find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' ! -name '*~' ! -name '.*.swp' -print0 |
      LC_ALL=C sort -z |
      while IFS= read -r -d '' f; do
        if [ -x "$f" ]; then x=x; else x=-; fi
        printf '%s %s %s\n' "$f" "$x" "$(sha256sum <"$f" | cut -c1-64)"
      done
  )
}

short_hash() { sha256sum | cut -c1-12; }

# --- docker helpers -----------------------------------------------------------------------------

image_label() { # <ref> -> value of specctl.recipe label, empty if image/label missing
  docker image inspect -f '{{with .Config.Labels}}{{index . "specctl.recipe"}}{{end}}' "$1" 2>/dev/null || true
}
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# --- base rootfs --------------------------------------------------------------------------------

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  log "installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap still missing after apt-get install"
}

WORK=
unmount_under() { # unmount everything mounted below $1 (deepest first)
  local root=$1 m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r)
}
cleanup_work() {
  [ -n "$WORK" ] && [ -d "$WORK" ] || return 0
  unmount_under "$WORK"
  if awk -v r="$WORK/" 'index($2, r) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    log "WARNING: mounts remain under $WORK; not deleting it"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup_work EXIT

build_rootfs_tarball() { # <hash> <out.tar>
  local h=$1 out=$2 root
  ensure_debootstrap
  WORK=$(mktemp -d "$CACHE_DIR/rootfs-$h.XXXXXX")
  root=$WORK/root
  log "debootstrap --variant=minbase $SUITE from $MIRROR (this takes a few minutes)"
  if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  unmount_under "$root"

  log "installing packages into the rootfs: $(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$IMAGES_DIR/base/packages.txt" | tr -s '[:space:]' ' ')"
  cp "$IMAGES_DIR/base/setup-rootfs.sh" "$root/tmp/setup-rootfs.sh"
  cp "$IMAGES_DIR/base/packages.txt" "$root/tmp/packages.txt"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  mount -t proc proc "$root/proc"
  if ! chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
      /bin/bash /tmp/setup-rootfs.sh /tmp/packages.txt >"$WORK/setup.log" 2>&1; then
    tail -n 40 "$WORK/setup.log" >&2
    die "package installation in the rootfs failed (full log: $WORK/setup.log)"
  fi
  unmount_under "$root"
  rm -rf "${root:?}/tmp/"* "$root/debootstrap"

  log "packing rootfs -> $out"
  tar --numeric-owner --xattrs -C "$root" \
    --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' --exclude='./run/*' \
    -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  cleanup_work
  WORK=
}

BASE_HASH=
BASE_REF=
ensure_base() {
  BASE_HASH=$( {
    printf 'schema=%s\nsuite=%s\narch=%s\n' "$RECIPE_SCHEMA" "$SUITE" "$(dpkg --print-architecture 2>/dev/null || uname -m)"
    dir_manifest "$IMAGES_DIR/base"
  } | short_hash)
  BASE_REF=$REPO/base:r-$BASE_HASH
  current_tags+=("$BASE_REF")
  local tarball=$CACHE_DIR/base-$BASE_HASH.tar status
  if [ "$(image_label "$BASE_REF")" = "$BASE_HASH" ]; then
    status=reused
  else
    if [ -s "$tarball" ]; then
      log "base: importing cached rootfs $tarball"
      status=imported
    else
      log "base: recipe $BASE_HASH not built yet"
      build_rootfs_tarball "$BASE_HASH" "$tarball"
      status=built
    fi
    docker import \
      --change "LABEL specctl.recipe=$BASE_HASH" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["bash"]' \
      "$tarball" "$BASE_REF" >/dev/null
    # Only the current tarball is kept.
    find "$CACHE_DIR" -maxdepth 1 -name 'base-*.tar' ! -name "base-$BASE_HASH.tar" -delete
  fi
  docker tag "$BASE_REF" "$REPO/base:$SUITE"
  log "base: $BASE_REF ($status)"
  results+=("$(printf '%-34s %-34s %s' "$REPO/base:$SUITE" "$BASE_REF" "$status")")
}

# --- Dockerfile images ------------------------------------------------------------------------

ensure_image() { # <name> <stable tag> [KEY=VALUE build args...]
  local name=$1 tag=$2 dir=$IMAGES_DIR/$1 h ref status arg
  shift 2
  [ -f "$dir/Dockerfile" ] || die "missing $dir/Dockerfile"
  h=$( {
    printf 'schema=%s\nimage=%s\nbase=%s\n' "$RECIPE_SCHEMA" "$name" "$BASE_HASH"
    for arg in "$@"; do printf 'build-arg %s\n' "$arg"; done
    dir_manifest "$dir"
  } | short_hash)
  ref=$REPO/$name:r-$h
  current_tags+=("$ref")

  if [ "$(image_label "$REPO/$name:$tag")" = "$h" ]; then
    [ "$(image_id "$REPO/$name:$tag")" = "$(image_id "$ref")" ] || docker tag "$REPO/$name:$tag" "$ref"
    status=reused
  elif [ "$(image_label "$ref")" = "$h" ]; then
    docker tag "$ref" "$REPO/$name:$tag"
    status=retagged
  else
    log "$name:$tag: building recipe $h"
    local args=(--build-arg "BASE=$BASE_REF" --build-arg "RECIPE=$h")
    for arg in "$@"; do args+=(--build-arg "$arg"); done
    local blog
    blog=$(mktemp)
    if ! docker build --pull=false "${args[@]}" -t "$ref" -t "$REPO/$name:$tag" "$dir" >"$blog" 2>&1; then
      cat "$blog" >&2
      rm -f "$blog"
      die "docker build of $name:$tag failed"
    fi
    rm -f "$blog"
    status=built
  fi
  log "$name:$tag -> $ref ($status)"
  results+=("$(printf '%-34s %-34s %s' "$REPO/$name:$tag" "$ref" "$status")")
}

prune_stale() {
  [ "${SPECCTL_TESTBED_KEEP_OLD:-0}" = 1 ] && return 0
  local t cur stale
  while read -r t; do
    stale=1
    for cur in "${current_tags[@]}"; do [ "$t" = "$cur" ] && stale=0 && break; done
    if [ "$stale" = 1 ]; then
      if docker rmi "$t" >/dev/null 2>&1; then log "untagged stale $t"; fi
    fi
  done < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep "^$REPO/[^:]*:r-" || true)
}

# --- main -------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap/chroot)"
docker info >/dev/null 2>&1 || die "docker engine not reachable; run testbed/engine.sh first"
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/lock"
flock 9
rm -f "$CACHE_DIR"/base-*.tar.tmp   # leftovers of an interrupted run

ensure_base
ensure_image nginx 1.22
ensure_image postgres 15
ensure_image redis 7
ensure_image app 1.0 APP_VERSION=1.0
ensure_image app 1.1 APP_VERSION=1.1
prune_stale

log "done in $(( $(date +%s) - start_ts ))s"
printf '%s\n' "${results[@]}"
