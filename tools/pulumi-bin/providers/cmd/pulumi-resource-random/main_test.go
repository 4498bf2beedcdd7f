package main

import (
	"testing"

	"example.invalid/ai-gateway/pulumi-providers/internal/npmcheck"
)

// TestMatchesNpmPackage compares this provider with @pulumi/random (RANDOM_NPM_PACKAGE, the
// project's node_modules/@pulumi/random; scripts/pulumi-toolchain.sh runs it after every build).
func TestMatchesNpmPackage(t *testing.T) {
	npmcheck.Run(t, providerInfo(), nil)
}
