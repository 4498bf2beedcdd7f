#!/usr/bin/env bash
# Starts Debian's Docker daemon for the runtime tests when none answers (needs root). Idempotent.
set -euo pipefail
if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "start-dockerd: no Docker engine answers and starting one needs root" >&2
  exit 1
fi
mkdir -p /tmp/ai-gateway-dockerd
nohup dockerd >/tmp/ai-gateway-dockerd/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "start-dockerd: Docker engine $(docker version -f '{{.Server.Version}}') is up"
    exit 0
  fi
  sleep 0.5
done
echo "start-dockerd: dockerd did not come up; its log:" >&2
tail -n 30 /tmp/ai-gateway-dockerd/dockerd.log >&2
exit 1
