#!/usr/bin/env bash
# Creates (once) the Python venv with moto's S3-compatible server and boto3 that the backup tests
# run runtime/open_webui_backup.py's S3 copy against (tests/runtime/openWebuiBackupScript.test.ts),
# and prints its path. Every package is pinned in scripts/s3-test-requirements.txt; the venv is
# rebuilt when that file changes. Needs python3 >= 3.9 with the venv module, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/s3-test-requirements.txt
version=$(sed -n 's/^moto==//p' "$requirements")
digest=$(sha256sum "$requirements" | cut -c1-12)
cache=${AI_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway}
venv=$cache/venv-moto-$version-$digest

if [ ! -e "$venv/.complete" ]; then
  # Rebuilt from scratch: .complete, written last, marks a venv whose install finished.
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2 || {
    echo "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$requirements" >&2 || {
    rm -rf "$venv"
    echo "pip could not install $requirements" >&2
    exit 1
  }
  "$venv/bin/python" -c 'import boto3, moto.server' >&2
  touch "$venv/.complete"
fi
echo "$venv"
