#!/usr/bin/env bash
# Creates (once) the Python venv with moto's S3-compatible server and boto3 that the backup tests
# run runtime/open_webui_backup.py's S3 copy against (tests/runtime/openWebuiBackupScript.test.ts),
# and prints its path. Every package is pinned in scripts/s3-test-requirements.txt; the venv is
# rebuilt when that file changes. Needs python3 >= 3.9 with the venv module, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/pinned-venv.sh
. scripts/pinned-venv.sh

requirements=scripts/s3-test-requirements.txt
version=$(sed -n 's/^moto==//p' "$requirements")
check() { "$venv/bin/python" -c 'import boto3, moto.server'; }
pinned_venv "moto-$version" "$requirements" check
