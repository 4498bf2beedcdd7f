#!/usr/bin/env bash
# Builds the root filesystem the Docker engine and the local image registry run from (see
# scripts/start-dockerd.sh and scripts/start-registry.sh): Debian sid, because its docker.io (28.5,
# Engine API 1.51) is current, while bookworm's (20.10, API 1.41) is older than what the docker
# provider and Docker 29-era clients expect. The host gets none of these packages.
#
# Cached under .cache/engine-rootfs/<suite>-<key>, where the key hashes the suite, the package list
# and this script's RECIPE; .cache/engine-rootfs/current points at the newest complete one. Prints
# the rootfs's path on stdout (progress goes to stderr). Needs root (debootstrap, chroot).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=sid
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# docker.io: dockerd, docker-proxy, containerd, runc, tini (docker-init); docker-cli: the client
# (scripts/start-dockerd.sh installs it on the host when the host has none); docker-registry: the
# registry (distribution 2.8); iptables: dockerd's NAT and filter rules (nft backend, built into the
# kernel here); iproute2: the second engine's bridge (start-dockerd.sh --min-api). The standalone sysusers/tmpfiles satisfy docker.io's "systemd | ..." dependencies
# without pulling in all of systemd.
PACKAGES=(docker.io docker-cli docker-registry iptables iproute2 systemd-standalone-sysusers systemd-standalone-tmpfiles)
# Bumped when what this script does after the package installation changes.
RECIPE=3

key=$(printf '%s %s %s' "$SUITE" "${PACKAGES[*]}" "$RECIPE" | sha256sum | cut -c1-12)
base=.cache/engine-rootfs
target="$base/$SUITE-$key"
if [ -f "$target/.complete" ]; then
  echo "engine rootfs: $target (cached)" >&2
  ln -sfn "$(basename "$target")" "$base/current"
  echo "$PWD/$target"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "engine rootfs: building $target needs root (debootstrap)" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  echo "engine rootfs: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 1
}
mkdir -p "$base"
exec 9>"$base/.build.lock"
flock 9
if [ -f "$target/.complete" ]; then # built by a concurrent run while this one waited
  echo "$PWD/$target"
  exit 0
fi
rm -rf "$target"
mkdir -p "$target"
log="$target.log"
echo "engine rootfs: debootstrap $SUITE + ${PACKAGES[*]} into $target (log: $log)" >&2
started=$SECONDS
{
  debootstrap --variant=minbase "$SUITE" "$target" "$MIRROR"
  # No package may start a service while it is installed (docker.io's postinst would try).
  printf '#!/bin/sh\nexit 101\n' >"$target/usr/sbin/policy-rc.d"
  chmod 0755 "$target/usr/sbin/policy-rc.d"
  # apt (not debootstrap's resolver, which always takes the first alternative) picks the
  # standalone sysusers/tmpfiles named above; no Recommends (apparmor, git, buildx...).
  # shellcheck disable=SC2016 # the inner script expands its own arguments
  unshare --mount --propagation private bash -c '
    mount -t proc proc "$1/proc"
    chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${@:2}"
    chroot "$1" apt-get clean
  ' bash "$target" "${PACKAGES[@]}"
} >"$log" 2>&1 || {
  tail -n 30 "$log" >&2
  exit 1
}
rm -rf "$target"/var/lib/apt/lists/*
touch "$target/.complete"
ln -sfn "$(basename "$target")" "$base/current"
echo "engine rootfs: built $target in $((SECONDS - started)) s ($(du -sh "$target" | cut -f1))" >&2
echo "$PWD/$target"
