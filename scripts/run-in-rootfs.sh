#!/usr/bin/env bash
# Runs a program installed in a root filesystem (scripts/build-engine-rootfs.sh's Debian sid) on
# this host, as if that system's packages were installed here:
#
#   run-in-rootfs.sh ROOTFS [--env NAME=VALUE]... -- PROGRAM [ARG]...
#
# The program gets a mount namespace of its own in which the rootfs's /usr and /etc are mounted
# read-only over the host's; everything else is the host's: /, /var, /run, /tmp, /home, /work,
# /proc, /sys (with /sys/fs/cgroup), /dev, and the network, PID and cgroup namespaces. So dockerd
# (sid's 28.5, which needs a newer glibc than bookworm's) sees host paths for bind mounts, puts its
# socket, data root and exec root where the host sees them, and sets up the host's iptables rules
# and docker-proxy listeners; only its binaries, libraries and /etc (iptables' nft alternative, its
# `docker` group) come from the rootfs. The host's /etc/resolv.conf and /etc/hosts stay visible
# (dockerd hands the resolver configuration to containers).
#
# Mount events on the host propagate into the namespace (slave), not the other way: container
# rootfs mounts stay inside, as with a packaged engine under a systemd unit with a private /tmp.
# The program keeps this script's PID (everything is exec'd), so a caller's $! is the program's.
# It gets a clean environment: PATH, HOME and the --env values only. Needs root and a merged-/usr
# host (Debian 12 and later), since /bin, /sbin and /lib must be links into /usr.
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 ROOTFS [--env NAME=VALUE]... -- PROGRAM [ARG]..." >&2
  exit 2
fi
rootfs=$(realpath "$1")
shift
envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
while [ $# -gt 0 ]; do
  case "$1" in
    --env)
      envs+=("$2")
      shift 2
      ;;
    --)
      shift
      break
      ;;
    *)
      echo "run-in-rootfs: unknown option $1" >&2
      exit 2
      ;;
  esac
done
if [ ! -f "$rootfs/.complete" ]; then
  echo "run-in-rootfs: $rootfs is not a complete rootfs (scripts/build-engine-rootfs.sh)" >&2
  exit 1
fi
for d in bin sbin lib lib64; do
  if [ -e "/$d" ] && [ ! -L "/$d" ]; then
    echo "run-in-rootfs: /$d is not a link into /usr (the host is not merged-/usr)" >&2
    exit 1
  fi
done

# Arguments of the inner script: rootfs, the number of envs, the envs, then the program.
# shellcheck disable=SC2016 # the inner script expands its own variables
exec unshare --mount --propagation slave bash -c '
set -euo pipefail
root=$1
shift
envs=("${@:2:$1}")
shift $(($1 + 1))
# The host files that must stay visible under the rootfs /etc, bound onto it before it goes over
# the host one (--rbind carries them along).
for f in resolv.conf hosts; do
  if [ -e "/etc/$f" ] && [ -e "$root/etc/$f" ]; then
    mount --bind "/etc/$f" "$root/etc/$f"
  fi
done
for d in usr etc; do
  mount --rbind "$root/$d" "/$d"
  mount -o remount,bind,ro "/$d"
done
exec env -i "${envs[@]}" "$@"
' run-in-rootfs "$rootfs" "${#envs[@]}" "${envs[@]}" "$@"
