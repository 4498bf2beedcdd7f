package main

import (
	"context"
	"testing"

	"example.invalid/ai-gateway/pulumi-providers/internal/npmcheck"
)

// TestMatchesNpmPackage compares this provider with @pulumi/hcloud (HCLOUD_NPM_PACKAGE: no
// dependency of the project; scripts/pulumi-toolchain.sh unpacks it from `npm pack` and runs this
// after every build).
func TestMatchesNpmPackage(t *testing.T) {
	npmcheck.Run(t, providerInfo(context.Background()), nil)
}
