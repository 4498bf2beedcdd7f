#!/usr/bin/env bash
# Builds the Pulumi toolchain CI deploys with, from Go modules only (no Pulumi download, ever):
# the `pulumi` CLI, its Node.js language host, the dynamic-provider plugin script, and the docker,
# random and hcloud resource providers (tools/pulumi-bin/*: go.mod/go.sum pin every module; our own
# few glue files wrap the upstream Terraform providers with the npm packages' tokens and names).
#
# The result is cached under ~/.cache/ai-gateway/pulumi-bin/<key>, where <key> hashes the Go
# version, this script and everything in tools/pulumi-bin; a later run with the same key only
# prints where it is. Providers are installed into the toolchain's own PULUMI_HOME with
# `pulumi plugin install resource NAME VERSION --file BIN`.
#
#   scripts/pulumi-toolchain.sh          build if needed, write .cache/pulumi-toolchain.env
#   source .cache/pulumi-toolchain.env   PATH, PULUMI_HOME and the no-download settings
#
# Users do not need this: they install the Pulumi CLI the usual way (README, Prerequisites).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# The versions each binary is stamped with and installed as: the CLI release, and the npm
# packages' plugin versions (package.json "pulumi.version" of @pulumi/docker, random, hcloud).
PULUMI_VERSION=3.274.1
declare -A PROVIDER_VERSIONS=([docker]=5.2.0 [random]=4.21.2 [hcloud]=1.41.0)

TOOLS=tools/pulumi-bin
REQUIRED_GO=1.26.4

go_version=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$REQUIRED_GO" "$go_version" | sort -V | head -n1)" != "$REQUIRED_GO" ]; then
  echo "pulumi-toolchain: Go $go_version is older than $REQUIRED_GO (tools/pulumi-bin/providers needs it)" >&2
  exit 1
fi

# The npm packages each provider is checked against once built (below), all the project's own (npm ci
# installs them): every resource of theirs asks the engine for the plugin version in their package.json, so it must be the one the provider is installed as. That makes
# them part of the cache key too, through PROVIDER_VERSIONS and this script's hash, and a cached
# toolchain is never used with packages it was not checked against.
declare -A NPM_PACKAGES=([docker]=$ROOT/node_modules/@pulumi/docker [random]=$ROOT/node_modules/@pulumi/random [hcloud]=$ROOT/node_modules/@pulumi/hcloud)
for provider in "${!NPM_PACKAGES[@]}"; do
  if [ ! -f "${NPM_PACKAGES[$provider]}/package.json" ]; then
    echo "pulumi-toolchain: no @pulumi/$provider in node_modules (run npm ci first)" >&2
    exit 1
  fi
  npm_version=$(node -p 'require(process.argv[1]).version' "${NPM_PACKAGES[$provider]}/package.json")
  if [ "$npm_version" != "${PROVIDER_VERSIONS[$provider]}" ]; then
    echo "pulumi-toolchain: node_modules has @pulumi/$provider $npm_version, this script builds ${PROVIDER_VERSIONS[$provider]} (PROVIDER_VERSIONS)" >&2
    exit 1
  fi
done
key=$({
  go env GOVERSION
  sha256sum "$0"
  find "$TOOLS" -type f ! -name '*.json' -print0 | sort -z | xargs -0 sha256sum
} | sha256sum | cut -c1-16)
CACHE_ROOT=${AI_GATEWAY_TOOLCHAIN_CACHE:-$HOME/.cache/ai-gateway/pulumi-bin}
OUT=$CACHE_ROOT/$key
ENV_FILE=$ROOT/.cache/pulumi-toolchain.env

write_env() {
  mkdir -p "$(dirname "$ENV_FILE")"
  cat >"$ENV_FILE" <<EOF
# Written by scripts/pulumi-toolchain.sh: the CI toolchain, which never downloads anything.
export PATH="$OUT/bin:\$PATH"
export PULUMI_HOME="$OUT/home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_IGNORE_AMBIENT_PLUGINS=true
EOF
}

if [ -f "$OUT/.complete" ]; then
  write_env
  echo "pulumi-toolchain: $OUT (cached)"
  exit 0
fi

started=$(date +%s)
# Built beside the cache (same file system, so the final mv is a rename) into the cache's own folder,
# which must exist whether or not its parent did (a custom AI_GATEWAY_TOOLCHAIN_CACHE, or a machine
# where another script made ~/.cache/ai-gateway first).
mkdir -p "$CACHE_ROOT"
work=$(mktemp -d "$CACHE_ROOT.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/providers" "$work/home"
export CGO_ENABLED=0
# -mod=readonly: go.sum is the lock file; a build never edits the module files.
BUILD=(go build -mod=readonly -trimpath)

step() { printf 'pulumi-toolchain: %s (%ss)\n' "$1" "$(($(date +%s) - started))"; }

step "pulumi $PULUMI_VERSION"
(cd "$TOOLS/cli" && "${BUILD[@]}" -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
  -o "$work/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)

# The dynamic-provider plugin is a shell script shipped in the SDK module; the engine finds it
# next to the pulumi binary. Module-cache files are read-only and lose the exec bit: install it.
sdk_dir=$(cd "$TOOLS/cli" && go list -mod=readonly -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)
install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$work/bin/"

host_sdk=$(cd "$TOOLS/nodejs-host" && go list -mod=readonly -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)
step "pulumi-language-nodejs ${host_sdk#v}"
(cd "$TOOLS/nodejs-host" && "${BUILD[@]}" -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$host_sdk" \
  -o "$work/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)

for provider in docker random hcloud; do
  [ -d "$TOOLS/providers/cmd/pulumi-resource-$provider" ] || continue
  version=${PROVIDER_VERSIONS[$provider]}
  step "pulumi-resource-$provider $version"
  # no_compose: leaves docker compose out of the docker provider, as pulumi-docker's build does.
  (cd "$TOOLS/providers" && "${BUILD[@]}" -tags no_compose \
    -ldflags "-s -w -X main.version=$version" \
    -o "$work/providers/pulumi-resource-$provider" "./cmd/pulumi-resource-$provider")
  PULUMI_HOME="$work/home" PULUMI_SKIP_UPDATE_CHECK=true "$work/bin/pulumi" plugin install resource \
    "$provider" "$version" --file "$work/providers/pulumi-resource-$provider" >/dev/null
done

# Each provider against its npm package: tokens, input names, required-ness and shapes, nested
# types and the provider config (tools/pulumi-bin/providers/internal/npmcheck). A difference means
# programs send names the provider ignores, so it fails the build; it runs once per toolchain, as
# everything it depends on is in the cache key. Same flags as the providers: it reuses their builds.
step "checking the providers against their npm packages"
checks=(./internal/npmcheck)
check_env=()
for provider in docker random hcloud; do
  [ -d "$TOOLS/providers/cmd/pulumi-resource-$provider" ] || continue
  checks+=("./cmd/pulumi-resource-$provider")
  check_env+=("${provider^^}_NPM_PACKAGE=${NPM_PACKAGES[$provider]}")
done
# -count=1: a check that ran, not a cached result. -s -w, as the providers are linked: a third less
# time linking the four test binaries, and failures still name their file and line.
(cd "$TOOLS/providers" && env "${check_env[@]}" go test -mod=readonly -trimpath -tags no_compose \
  -ldflags "-s -w" -count=1 "${checks[@]}")

# What each binary really is: the module versions it was built from.
{
  echo "pulumi $PULUMI_VERSION: $(cd "$TOOLS/cli" && go list -mod=readonly -m -f '{{.Path}}@{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
  echo "pulumi-language-nodejs: github.com/pulumi/pulumi/sdk/v3@$host_sdk"
  echo "pulumi-resource-pulumi-nodejs: github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION nodejs/dist"
  (cd "$TOOLS/providers" && go list -mod=readonly -m -f '{{.Path}}@{{.Version}}{{with .Replace}} => {{.Path}}@{{.Version}}{{end}}' \
    github.com/pulumi/pulumi-terraform-bridge/v3 github.com/terraform-providers/terraform-provider-docker \
    github.com/terraform-providers/terraform-provider-random github.com/hetznercloud/terraform-provider-hcloud |
    sed 's/^/providers: /')
} >"$work/BUILDINFO"

rm -rf "$OUT"
mv "$work" "$OUT"
trap - EXIT
touch "$OUT/.complete"
write_env
step "built into $OUT"
cat "$OUT/BUILDINFO"
