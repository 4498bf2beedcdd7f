#!/usr/bin/env bash
# Starts a local image registry on 127.0.0.1:5000, idempotently: Debian's docker-registry
# (distribution 2.8) from the engine rootfs (scripts/build-engine-rootfs.sh), run like the engine in
# the host's network namespace (scripts/run-in-rootfs.sh). It listens on loopback only and has no
# authentication; Docker allows plain HTTP to registries in 127.0.0.0/8 without any configuration.
# Its storage, /var/lib/ai-gateway-registry (AI_GATEWAY_REGISTRY_DIR), outlives restarts; its log is
# /tmp/ai-gateway-registry/registry.log. Needs root to start or stop.
#
#   start-registry.sh          start it unless a registry already answers on 127.0.0.1:5000
#   start-registry.sh --stop   stop the registry this script started
set -euo pipefail
cd "$(dirname "$0")/.."

ADDRESS=127.0.0.1
PORT=5000
storage=${AI_GATEWAY_REGISTRY_DIR:-/var/lib/ai-gateway-registry}
pidfile=/run/ai-gateway-registry.pid
state=/tmp/ai-gateway-registry
log="$state/registry.log"
config_dir=/run/ai-gateway-registry

# Whether a Docker registry (API v2) answers GET /v2/ on the address.
registry_answers() {
  local reply
  # shellcheck disable=SC2016 # the inner script expands its own arguments
  reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET /v2/ HTTP/1.0\r\nHost: %s:%s\r\n\r\n" "$1" "$2" >&3 && cat <&3' \
    probe "$ADDRESS" "$PORT" 2>/dev/null) || true
  [[ $reply == HTTP/1.?" 200"* ]] && grep -qi '^docker-distribution-api-version: *registry/2.0' <<<"${reply//$'\r'/}"
}

# shellcheck source=scripts/process-lib.sh
source scripts/process-lib.sh

our_pid() { pid_of "$pidfile" docker-registry; }

stop() {
  local pid
  if pid=$(our_pid); then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "start-registry: stopped the registry (pid $pid)" >&2
  fi
  rm -f "$pidfile"
}

if [ "${1:-}" = --stop ]; then
  stop
  exit 0
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--stop]" >&2
  exit 2
fi

if registry_answers; then
  echo "start-registry: a registry answers on $ADDRESS:$PORT" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-registry: no registry answers on $ADDRESS:$PORT and starting one needs root" >&2
  exit 1
fi
stop # one of ours that no longer answers
rootfs=$(scripts/build-engine-rootfs.sh)
mkdir -p "$storage" "$state" "$config_dir"
# The package's config, on loopback and without its htpasswd authentication.
cat >"$config_dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $storage
  delete:
    enabled: true
http:
  addr: $ADDRESS:$PORT
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
started=$SECONDS
setsid scripts/run-in-rootfs.sh "$rootfs" -- docker-registry serve "$config_dir/config.yml" </dev/null >"$log" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
for _ in $(seq 1 100); do
  if registry_answers; then
    echo "start-registry: docker-registry $("$rootfs/usr/bin/docker-registry" --version | awk '{print $NF}') is up on $ADDRESS:$PORT after $((SECONDS - started)) s (pid $pid, storage $storage, log $log)" >&2
    exit 0
  fi
  alive "$pid" || break
  sleep 0.1
done
echo "start-registry: the registry did not come up; its log:" >&2
tail -n 30 "$log" >&2
exit 1
