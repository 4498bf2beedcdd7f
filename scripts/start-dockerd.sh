#!/usr/bin/env bash
# Starts a current Docker engine (Debian sid's docker.io 28.5, Engine API 1.51) for the tests and
# for a local `pulumi up`, idempotently. Needs root.
#
#   start-dockerd.sh            start the engine on /var/run/docker.sock unless a current one answers
#   start-dockerd.sh --stop     stop the engine this script started (containers stop with it)
#   start-dockerd.sh --restart  stop, then start (containers with a restart policy come back)
#
# Like Docker 29, which a fresh Docker CE host runs today, the engine refuses Engine API versions
# below 1.44 (DOCKER_MIN_API_VERSION; AI_GATEWAY_DOCKER_MIN_API_VERSION overrides it): every client
# in the tests, the docker provider and the key registration's own included, must negotiate.
#
# The engine's binaries come from the rootfs scripts/build-engine-rootfs.sh builds (cached under
# .cache/); scripts/run-in-rootfs.sh runs them on the host with that rootfs's /usr and /etc in a
# mount namespace of their own, and the host's everything else: its network (published ports,
# docker-proxy and iptables rules are the host's), its paths (bind mounts), /var/run/docker.sock.
# Its data root, /var/lib/ai-gateway-docker (AI_GATEWAY_DOCKER_DATA_ROOT), outlives restarts:
# images, volumes and stopped containers stay. Its log is /tmp/ai-gateway-dockerd/main.log.
#
# An engine that answers on the socket with API 1.44 or newer is kept, whoever started it. An older
# one (bookworm's docker.io 20.10, API 1.41) is stopped first: through systemd when it runs
# docker.service, else through its pid file /var/run/docker.pid.
#
# When the host has no docker client at all, the rootfs's (docker-cli 28.5, which needs only glibc
# 2.34) is installed as /usr/local/bin/docker; an existing client is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIRED_API=1.44
action=start
case "${1:-}" in
  "") ;;
  --stop) action=stop ;;
  --restart) action=restart ;;
  *)
    echo "usage: $0 [--stop|--restart]" >&2
    exit 2
    ;;
esac

state=/tmp/ai-gateway-dockerd
pidfile=/run/ai-gateway-dockerd-main.pid
log="$state/main.log"
socket=/var/run/docker.sock
data_root=${AI_GATEWAY_DOCKER_DATA_ROOT:-/var/lib/ai-gateway-docker}
exec_root=/var/run/docker
dockerd_pidfile=/var/run/docker.pid
dockerd_env=(--env "DOCKER_MIN_API_VERSION=${AI_GATEWAY_DOCKER_MIN_API_VERSION:-$REQUIRED_API}")

if [ "$(id -u)" -ne 0 ]; then
  if [ "$action" = start ] && docker -H "unix://$socket" version >/dev/null 2>&1; then
    exit 0
  fi
  echo "start-dockerd: starting or stopping the engine needs root" >&2
  exit 1
fi

if [ "$action" = stop ] && [ -f .cache/engine-rootfs/current/.complete ]; then
  rootfs=$(realpath .cache/engine-rootfs/current) # stopping builds nothing
else
  rootfs=$(scripts/build-engine-rootfs.sh)
fi
client="$rootfs/usr/bin/docker"
if ! command -v docker >/dev/null 2>&1; then
  install -m 0755 "$client" /usr/local/bin/docker
  echo "start-dockerd: installed the docker client $("$client" --version | cut -d, -f1 | cut -d' ' -f3) as /usr/local/bin/docker" >&2
fi

# The API version of the engine answering on $socket, or nothing.
server_api() {
  DOCKER_API_VERSION='' timeout 10 "$client" -H "unix://$socket" version -f '{{.Server.APIVersion}}' 2>/dev/null || true
}

api_at_least() { # $1 >= $2, as dotted versions
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# shellcheck source=scripts/process-lib.sh
source scripts/process-lib.sh

our_pid() { pid_of "$pidfile" dockerd; }

wait_gone() { # pid, seconds
  local _
  for _ in $(seq 1 $(($2 * 10))); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

stop_ours() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    return 0
  fi
  echo "start-dockerd: stopping the engine (pid $pid)" >&2
  kill -TERM "$pid"
  # dockerd stops the running containers first (each within its stop timeout, up to its own
  # shutdown timeout); a postgres container asks for 60 s.
  if ! wait_gone "$pid" 120; then
    echo "start-dockerd: dockerd $pid did not stop within 120 s; killing it" >&2
    kill -KILL "$pid"
    wait_gone "$pid" 10 || true
  fi
  rm -f "$pidfile"
  if [ -S "$socket" ] && [ -z "$(server_api)" ]; then
    rm -f "$socket"
  fi
}

# An engine this script did not start (e.g. Debian bookworm's 20.10) that answers too old an API.
stop_foreign() {
  echo "start-dockerd: the engine on $socket answers API $1 (< $REQUIRED_API); stopping it" >&2
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker.service 2>/dev/null; then
    systemctl stop docker.socket docker.service || true
  fi
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    kill -TERM "$pid"
    wait_gone "$pid" 60 || kill -KILL "$pid"
  fi
  if [ -n "$(server_api)" ]; then
    echo "start-dockerd: could not stop the old engine on $socket; stop it and rerun" >&2
    exit 1
  fi
  rm -f "$socket"
}

start() {
  local api
  api=$(server_api)
  if [ -n "$api" ]; then
    if api_at_least "$api" "$REQUIRED_API"; then
      echo "start-dockerd: Docker engine $("$client" -H "unix://$socket" version -f '{{.Server.Version}}') (API $api) answers on $socket" >&2
      return 0
    fi
    if our_pid >/dev/null; then
      stop_ours
    else
      stop_foreign "$api"
    fi
  fi
  stop_ours # a dockerd of ours that no longer answers
  rm -f "$socket"
  # dockerd refuses to start while its pid file names a live process: after a crash or a kill the
  # pid may have been reused.
  if [ -f "$dockerd_pidfile" ] && ! pid_of "$dockerd_pidfile" dockerd >/dev/null; then
    rm -f "$dockerd_pidfile"
  fi
  mkdir -p "$state" "$data_root"
  local group=0
  group=$(getent group docker | cut -d: -f3) || group=0
  local started=$SECONDS
  # setsid: the engine must not die with this script's session or get its terminal's signals.
  setsid scripts/run-in-rootfs.sh "$rootfs" "${dockerd_env[@]}" -- \
    dockerd --host "unix://$socket" --group "$group" --data-root "$data_root" --exec-root "$exec_root" \
    --pidfile "$dockerd_pidfile" </dev/null >"$log" 2>&1 &
  local pid=$!
  echo "$pid" >"$pidfile"
  for _ in $(seq 1 300); do
    api=$(server_api)
    if [ -n "$api" ]; then
      echo "start-dockerd: Docker engine $("$client" -H "unix://$socket" version -f '{{.Server.Version}}') (API $api, min $("$client" -H "unix://$socket" version -f '{{.Server.MinAPIVersion}}')) is up on $socket after $((SECONDS - started)) s (pid $pid, data root $data_root, log $log)" >&2
      return 0
    fi
    if ! alive "$pid"; then
      break
    fi
    sleep 0.2
  done
  echo "start-dockerd: dockerd did not come up; its log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}

case "$action" in
  start) start ;;
  stop) stop_ours ;;
  restart)
    stop_ours
    start
    ;;
esac
