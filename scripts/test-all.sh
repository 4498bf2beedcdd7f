#!/usr/bin/env bash
# Installs everything the tests need and runs them all: lint, format, type-check, unit tests under
# Pulumi mocks, runtime tests against real nginx, PostgreSQL, python3 and a Docker engine, and the
# end-to-end suite: the real Pulumi CLI deploying the gateway to that engine.
# This is the README's test command; CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  echo "Node $(node --version) is too old: the Pulumi SDK needs Node 22+ (see README, Prerequisites)." >&2
  exit 1
fi

# No docker.io: the Docker engine (sid's 28.5; bookworm's 20.10 is too old), its client and the
# image registry come from a Debian sid rootfs that scripts/build-engine-rootfs.sh builds with
# debootstrap; scripts/start-dockerd.sh installs that client as /usr/local/bin/docker when the host
# has no docker client.
# python3-yaml ... python3-oauthlib: what Debian's cloud-init needs to run `cloud-init schema` on the
# host's python3 (scripts/cloud-init-packages.sh unpacks cloud-init itself from trixie and sid);
# systemd: systemd-analyze and the fstab generator, which check the VPS user data's files.
APT_PACKAGES=(postgresql debootstrap bubblewrap dnsmasq-base wrk busybox-static iproute2 openssh-server openssh-client shellcheck python3-pyflakes
  python3-yaml python3-jsonschema python3-jinja2 python3-configobj python3-jsonpatch python3-requests python3-oauthlib systemd)
if [ "$(id -u)" -eq 0 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  echo "not root: skipping Debian package installation (${APT_PACKAGES[*]})"
fi

# Tests run runtime/*.py with python3 (and import them): no __pycache__ in the checkout, whose
# runtime/ directory the npm package ships as it is.
export PYTHONDONTWRITEBYTECODE=1

npm ci --no-audit --no-fund

# The Pulumi CLI and providers the end-to-end suite deploys with, built from Go modules (cached).
scripts/pulumi-toolchain.sh

if [ "$(id -u)" -eq 0 ]; then
  scripts/build-test-rootfs.sh
  # The engine on /var/run/docker.sock and the registry on 127.0.0.1:5000 (both from the sid rootfs,
  # both kept when already up), then the four images pushed there (rebuilt only when their inputs
  # changed).
  scripts/start-dockerd.sh
  scripts/start-registry.sh
  scripts/build-images.sh
fi

# Real LiteLLM 1.110.1 from PyPI in a cached venv: tests run its CLI, proxy and duration parser.
scripts/python-packages.sh >/dev/null
# moto's S3-compatible server and boto3 in a cached venv: the backup tests copy snapshots to it.
scripts/s3-test-packages.sh >/dev/null
# Debian's real cloud-init (trixie's and sid's): tests validate the VPS user data with its schema.
scripts/cloud-init-packages.sh >/dev/null

# actionlint from its Go module (cached): the tests lint .github/workflows with it and shellcheck.
scripts/actionlint.sh >/dev/null

npm test
