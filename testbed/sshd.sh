#!/usr/bin/env bash
# An OpenSSH server binary for the tests of ssh:// engine addresses, unpacked from Debian's
# openssh-server package with `dpkg -x`: installing the package would start an sshd on port 22 of
# every address. The tests start their own sshd on 127.0.0.1 with their own config, host key and
# authorized keys, and stop it by its pid. Idempotent; prints the binary's path.
set -euo pipefail
readonly DIR=/opt/specctl-testbed/openssh
readonly SSHD=$DIR/usr/sbin/sshd

if [ ! -x "$SSHD" ]; then
  echo "testbed: unpacking sshd from Debian's openssh-server (not installed, never started)" >&2
  # sshd's own library, which openssh-client does not bring
  dpkg -s libwrap0 >/dev/null 2>&1 || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libwrap0 >/dev/null
  }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq openssh-server 2>/dev/null) ||
    { apt-get update -qq && (cd "$work" && apt-get download -qq openssh-server 2>/dev/null); }
  mkdir -p "$DIR"
  dpkg -x "$work"/openssh-server_*.deb "$DIR"
fi
# sshd drops privileges to this user before authentication, in this empty directory
id sshd >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd
mkdir -p /run/sshd
chmod 755 /run/sshd
"$SSHD" -V 2>&1 | grep -q OpenSSH || { "$SSHD" -V; exit 1; } # runs: its libraries are here
echo "$SSHD"
