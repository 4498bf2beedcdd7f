#!/usr/bin/env bash
# Builds actionlint, the linter the tests run on .github/workflows (it also runs shellcheck on every
# `run:` script), from its Go module through the Go module proxy: no release binary is downloaded.
# The binary is cached under $AI_GATEWAY_CACHE/actionlint/<version>-<go version>/ (default
# ~/.cache/ai-gateway) and reused when present; GOMODCACHE and GOCACHE are Go's own caches and are
# honoured as usual. Prints the binary's path (and nothing else on stdout).
#
#   scripts/actionlint.sh                  build if needed, print the path
#   "$(scripts/actionlint.sh)" -shellcheck "$(command -v shellcheck)" .github/workflows/*.yml
set -euo pipefail

ACTIONLINT_MODULE=github.com/rhysd/actionlint/cmd/actionlint
ACTIONLINT_VERSION=v1.7.12

# CI may run with a bare environment (env -i): Go's default install location, and a HOME for its caches.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
  echo "actionlint: no Go toolchain on PATH (or in /usr/local/go/bin): install Go to build $ACTIONLINT_MODULE@$ACTIONLINT_VERSION" >&2
  exit 1
fi
export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}

# The Go version is part of the key: a binary is rebuilt when the toolchain changes.
go_version=$(go env GOVERSION)
cache=${AI_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-gateway}/actionlint/$ACTIONLINT_VERSION-$go_version
bin=$cache/actionlint

if [ -x "$bin" ] && [ -f "$cache/.complete" ]; then
  echo "$bin"
  exit 0
fi

started=$(date +%s)
mkdir -p "$(dirname "$cache")"
# Built into a scratch folder beside the cache and renamed into place, so an interrupted build never
# leaves a half-written binary that a later run would take as done.
work=$(mktemp -d "$cache.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
# `go install module@version` builds with the module's own go.mod and go.sum (checked against the
# checksum database), ignoring any go.mod in the current directory.
CGO_ENABLED=0 GOBIN=$work go install -trimpath -ldflags "-s -w" "$ACTIONLINT_MODULE@$ACTIONLINT_VERSION" >&2
built=$("$work/actionlint" -version | head -n1)
if [ "$built" != "$ACTIONLINT_VERSION" ]; then
  echo "actionlint: built version '$built', expected $ACTIONLINT_VERSION" >&2
  exit 1
fi
touch "$work/.complete"
rm -rf "$cache"
mv "$work" "$cache"
trap - EXIT
echo "actionlint: built $ACTIONLINT_VERSION with $go_version in $(($(date +%s) - started))s" >&2
echo "$bin"
