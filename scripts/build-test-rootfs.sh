#!/usr/bin/env bash
# Builds the root filesystem the runtime tests run nginx, python3 and PostgreSQL from: Debian sid,
# because its nginx (1.30.x) is the generation the gateway ships (nginx:1.30.5-alpine) and accepts
# `resolve` in upstream blocks, which bookworm's 1.22 does not. Cached under .cache/rootfs; rebuilt
# when the package list below changes. Needs root (debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=sid
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# nginx-light: the server; python3-minimal + libpython3-stdlib (urllib, http.server): stand-ins and
# LiteLLM/Open WebUI's python probes;
# postgresql: pg_isready and a server for the postgres container; busybox: wget, as in nginx:alpine;
# redis-server (+ redis-tools' redis-cli): the Redis LiteLLM's workers share; python3-socketio,
# python3-aiohttp, python3-jwt, python3-yaml, python3-redis: what the stand-ins need to speak the
# real protocols (Socket.IO with engineio's origin check, signed sessions, config.yaml, Redis).
PACKAGES=nginx-light,python3-minimal,libpython3-stdlib,postgresql,busybox,redis-server,redis-tools,python3-socketio,python3-aiohttp,python3-jwt,python3-yaml,python3-redis

key=$(printf '%s %s' "$SUITE" "$PACKAGES" | sha256sum | cut -c1-12)
target=".cache/rootfs/$SUITE-$key"
if [ -f "$target/.complete" ]; then
  echo "test rootfs: $target (cached)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test rootfs: building $target needs root (debootstrap); run as root or set AI_GATEWAY_TEST_ROOTFS" >&2
  exit 1
fi
rm -rf "$target"
mkdir -p "$target"
echo "test rootfs: debootstrap $SUITE ($PACKAGES) into $target"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$target" "$MIRROR" >"$target.log" 2>&1 || {
  tail -n 30 "$target.log" >&2
  exit 1
}
# The official nginx image runs its workers as user "nginx"; busybox provides wget as on Alpine.
chroot "$target" sh -c 'id nginx >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin nginx'
ln -sf /bin/busybox "$target/usr/local/bin/wget"
# Package-installed services must not start inside the tests' containers on their own.
rm -f "$target/etc/nginx/sites-enabled/default"
touch "$target/.complete"
ln -sfn "$(basename "$target")" .cache/rootfs/current
echo "test rootfs: $target"
