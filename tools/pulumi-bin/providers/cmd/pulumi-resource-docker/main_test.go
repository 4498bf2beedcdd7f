package main

import (
	"testing"

	"example.invalid/ai-gateway/pulumi-providers/internal/npmcheck"
)

// TestMatchesNpmPackage compares this provider with @pulumi/docker (DOCKER_NPM_PACKAGE, the
// project's node_modules/@pulumi/docker; scripts/pulumi-toolchain.sh runs it after every build).
func TestMatchesNpmPackage(t *testing.T) {
	npmcheck.Run(t, providerInfo(), map[string]string{
		// pulumi-docker serves this class itself, next to the bridged ones (a hybrid provider):
		// `docker build` and push. Terraform has no such resource, and the gateway builds no images.
		// (5.2.0 has no other native token: BuildxBuilder is Terraform's docker_buildx_builder, and
		// the buildx-based builds live in the separate @pulumi/docker-build package.)
		"docker:index/image:Image": "native pulumi-docker resource (image builds), not bridged from Terraform",
	})
}
