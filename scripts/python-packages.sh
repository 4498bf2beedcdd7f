#!/usr/bin/env bash
# Creates (once) the Python venv with real LiteLLM 1.110.1 that the tests run LiteLLM's own code
# from (tests/runtime/litellmReal.test.ts, tests/runtime/litellmDurations.test.ts), and prints its
# path. Every package is pinned in scripts/litellm-requirements.txt; the venv is rebuilt when that
# file changes. Needs python3 >= 3.10 with the venv module, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/pinned-venv.sh
. scripts/pinned-venv.sh

requirements=scripts/litellm-requirements.txt
version=$(sed -n 's/^litellm==//p' "$requirements")
python3 -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 16) else 1)' || {
  echo "python3 $(python3 -V 2>&1) cannot run litellm $version (it needs 3.10 to 3.15)" >&2
  exit 1
}
# The proxy imports cleanly (no missing module); the local cost map keeps the import offline.
check() { LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/python" -c 'import litellm.proxy.proxy_server, gunicorn, uvloop'; }
pinned_venv "litellm-$version" "$requirements" check
