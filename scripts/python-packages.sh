#!/usr/bin/env bash
# Creates (once) the Python venv with real LiteLLM 1.110.1 that the tests run LiteLLM's own code
# from (tests/runtime/litellmReal.test.ts, tests/runtime/litellmDurations.test.ts), and prints its
# path. Every package is pinned in scripts/litellm-requirements.txt; the venv is rebuilt when that
# file changes. Needs python3 >= 3.10 with the venv module, and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=scripts/litellm-requirements.txt
version=$(sed -n 's/^litellm==//p' "$requirements")
digest=$(sha256sum "$requirements" | cut -c1-12)
cache=${AI_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway}
venv=$cache/venv-litellm-$version-$digest

if [ ! -e "$venv/.complete" ]; then
  python3 -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] < (3, 16) else 1)' || {
    echo "python3 $(python3 -V 2>&1) cannot run litellm $version (it needs 3.10 to 3.15)" >&2
    exit 1
  }
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
  # The proxy imports cleanly (no missing module); the local cost map keeps the import offline.
  LITELLM_LOCAL_MODEL_COST_MAP=True "$venv/bin/python" -c 'import litellm.proxy.proxy_server, gunicorn, uvloop' >&2
  touch "$venv/.complete"
fi
echo "$venv"
