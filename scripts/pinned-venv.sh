#!/usr/bin/env bash
# Sourced by the scripts that make a test venv (python-packages.sh, s3-test-packages.sh):
#
#   pinned_venv NAME REQUIREMENTS CHECK...
#
# creates (once) the venv $cache/venv-NAME-<digest of REQUIREMENTS> with every package of
# REQUIREMENTS (each pinned), runs CHECK (a command, with $venv set) to prove the install imports,
# and prints the venv's path. A changed requirements file gives a new venv. Needs python3 with the
# venv module, and PyPI.

pinned_venv() {
  local name=$1 requirements=$2
  shift 2
  local digest cache
  digest=$(sha256sum "$requirements" | cut -c1-12)
  cache=${AI_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway}
  venv=$cache/venv-$name-$digest
  if [ ! -e "$venv/.complete" ]; then
    # Rebuilt from scratch: .complete, written last, marks a venv whose install finished.
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2 || {
      echo "python3 -m venv failed: install the venv module (Debian: apt-get install python3-venv)" >&2
      return 1
    }
    "$venv/bin/pip" install --quiet --no-input --disable-pip-version-check -r "$requirements" >&2 || {
      rm -rf "$venv"
      echo "pip could not install $requirements" >&2
      return 1
    }
    "$@" >&2
    touch "$venv/.complete"
  fi
  echo "$venv"
}
