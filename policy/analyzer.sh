#!/bin/sh
# Starts the policy pack as a plugin binary: `pulumi preview --policy-pack policy/analyzer.sh`.
# A Pulumi CLI release starts the pack from its directory (`--policy-pack policy`) through its
# Node.js language host. The host that scripts/pulumi-toolchain.sh builds (v3.68.0, the newest the
# Go module proxy serves) answers that request with "not supported"; the CLI also starts a policy
# pack that is an executable file, handing it the engine's address, and this script then does what
# the newer host does: it runs @pulumi/pulumi's run-policy-pack on this directory.
set -eu
pack=$(cd "$(dirname "$0")" && pwd)
cd "$pack"
runner=$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/run-policy-pack"))')
exec node "$runner" "$1" "$pack"
