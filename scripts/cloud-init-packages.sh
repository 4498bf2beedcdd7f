#!/usr/bin/env bash
# Fetches (once) Debian's real cloud-init, which the tests run as `cloud-init schema` on the VPS
# user data (tests/unit/cloudInit.test.ts), and prints one directory per release, each with
# bin/cloud-init. Two releases, because the user data must pass both:
# - trixie: exactly the cloud-init of the debian-13 image (25.1.x);
# - sid: the newest packaged upstream release (26.x), standing in for the ubuntu-24.04 image, whose
#   cloud-init Ubuntu updates to each quarterly upstream release (Stable Release Updates, see
#   docs.cloud-init.io reference/ubuntu_stable_release_updates; INFERRED that it is 25.x-26.x today).
# Bookworm's own cloud-init (22.4) predates both and knows fewer deprecations, so it is not used.
# Only the cloud-init .deb (architecture all, pure Python) is downloaded and unpacked here; its
# Python dependencies come from the host's Debian packages (scripts/test-all.sh installs them).
# A private apt state directory keeps the host's sources untouched. Re-fetched when a release's
# directory is missing; delete the cache directory to pick up a newer Debian upload.
set -euo pipefail
cd "$(dirname "$0")/.."

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITES=(trixie sid)
cache=${AI_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway}/cloud-init

python3_for_cloud_init=/usr/bin/python3
"$python3_for_cloud_init" -c 'import yaml, jsonschema, jinja2, configobj, jsonpatch, requests, oauthlib' 2>/dev/null || {
  echo "cloud-init needs Debian's python3 with python3-yaml python3-jsonschema python3-jinja2 python3-configobj python3-jsonpatch python3-requests python3-oauthlib (apt-get install them)" >&2
  exit 1
}

missing=()
for suite in "${SUITES[@]}"; do
  [ -e "$cache/$suite/.complete" ] || missing+=("$suite")
done

if [ "${#missing[@]}" -gt 0 ]; then
  apt_dir=$cache/apt
  rm -rf "$apt_dir"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  : >"$apt_dir/sources.list"
  for suite in "${missing[@]}"; do
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $suite main" >>"$apt_dir/sources.list"
  done
  apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir"
    -o "Dir::Cache::archives=$apt_dir/archives"
    -o "APT::Sandbox::User=root"
  )
  apt-get "${apt_options[@]}" update -qq >&2
  for suite in "${missing[@]}"; do
    # The version this suite offers (apt-cache madison: "cloud-init | <version> | <mirror> <suite>/main ...").
    version=$(apt-cache "${apt_options[@]}" madison cloud-init | awk -F'|' -v suite=" $suite/" 'index($3, suite) { gsub(/ /, "", $2); print $2; exit }')
    if [ -z "$version" ]; then
      echo "Debian $suite has no cloud-init package" >&2
      exit 1
    fi
    (cd "$apt_dir" && apt-get "${apt_options[@]}" download -qq "cloud-init=$version" >&2)
    target=$cache/$suite
    rm -rf "$target"
    mkdir -p "$target/bin"
    dpkg-deb -x "$apt_dir/cloud-init_${version//:/%3a}_all.deb" "$target/root"
    echo "$version" >"$target/version"
    cat >"$target/bin/cloud-init" <<EOF
#!/bin/sh
# Debian $suite's cloud-init $version, unpacked by scripts/cloud-init-packages.sh, on the host's python3.
PYTHONPATH='$target/root/usr/lib/python3/dist-packages' exec $python3_for_cloud_init '$target/root/usr/bin/cloud-init' "\$@"
EOF
    chmod +x "$target/bin/cloud-init"
    "$target/bin/cloud-init" --version >&2
    touch "$target/.complete"
  done
  rm -rf "$apt_dir"
fi

for suite in "${SUITES[@]}"; do
  echo "$cache/$suite"
done
