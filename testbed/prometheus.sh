#!/usr/bin/env bash
# Prometheus and node_exporter for the metrics end-to-end test, from Debian's packages but NOT
# installed: `apt-get install` would start both services listening on every address. The two
# .deb files are unpacked into /opt/specctl-prometheus instead; the test starts the binaries on
# 127.0.0.1 itself and stops them by pid. Idempotent; quick when both binaries are there.
set -euo pipefail
dest=/opt/specctl-prometheus
bin=$dest/usr/bin
packages=(prometheus prometheus-node-exporter)

if [ -x "$bin/prometheus" ] && [ -x "$bin/prometheus-node-exporter" ]; then
  exit 0
fi

echo "testbed: unpacking ${packages[*]} from Debian into $dest (no service started)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download writes into the current folder; as root it may warn that the _apt user
# cannot reach a private temporary folder, which is harmless.
if ! (cd "$work" && apt-get download -qq "${packages[@]}" >/dev/null 2>&1); then
  apt-get update -qq
  (cd "$work" && apt-get download -qq "${packages[@]}")
fi
mkdir -p "$dest"
for deb in "$work"/*.deb; do
  dpkg -x "$deb" "$dest"
done

for name in prometheus prometheus-node-exporter; do
  if ! "$bin/$name" --version >/dev/null 2>&1; then
    echo "testbed: $bin/$name does not run:" >&2
    "$bin/$name" --version >&2 || true
    # Most likely a missing shared library: say which.
    ldd "$bin/$name" 2>/dev/null | grep 'not found' >&2 || true
    exit 1
  fi
done
