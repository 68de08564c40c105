#!/bin/bash
# Runs INSIDE the freshly debootstrapped rootfs (via chroot) to install the package list
# and leave a clean, registry-free base image. Usage: setup-rootfs.sh <packages.txt>
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C LANG=C

pkgs=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1" | tr -s '[:space:]' ' ')

# Never start services inside the chroot or in later image builds (same as Docker's debian image).
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d

# postgresql-common must not create the default "main" cluster; the postgres image runs initdb itself.
mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/specctl-testbed.conf

cat >/etc/apt/sources.list <<'SOURCES'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES

cat >/etc/apt/apt.conf.d/90specctl-testbed <<'APTCONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APTCONF

# Keep docs/man pages/translations out of the image (copyright files stay).
cat >/etc/dpkg/dpkg.cfg.d/90specctl-testbed-nodoc <<'DPKGCFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*/LC_MESSAGES/*.mo
DPKGCFG

apt-get update -qq
apt-get -y -qq -o Dpkg::Use-Pty=0 dist-upgrade
# shellcheck disable=SC2086
apt-get -y -qq -o Dpkg::Use-Pty=0 install $pkgs

# Clean up: no apt lists/caches, logs, host leftovers, generated private keys.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old /var/lib/dpkg/*-old
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/doc -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/*
find /usr/share/locale -name '*.mo' -delete 2>/dev/null || true
rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
rm -rf /var/lib/postgresql/15 /etc/postgresql/15
find /var/log -type f -delete
rm -rf /tmp/* /var/tmp/* /root/.cache
: >/etc/resolv.conf
echo localhost >/etc/hostname
: >/etc/machine-id
