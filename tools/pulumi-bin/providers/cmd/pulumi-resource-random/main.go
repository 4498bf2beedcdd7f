// pulumi-resource-random for CI: the Terraform random provider (Plugin Framework) bridged to
// Pulumi with the tokens of the @pulumi/random npm package (random:index/randomPassword:RandomPassword, ...).
package main

import (
	"context"
	"fmt"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Set with -ldflags "-X main.version=..." to the npm package's version (the bridge requires semver).
var version = "0.0.0-dev"

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      version,
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		// As pulumi-random: diffs and state deltas computed the way Terraform computes them.
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	// The npm package prefixes every type with "Random": random_password -> RandomPassword.
	standard := tokens.MakeStandard("random")
	info.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return standard(module, "Random"+name)
	}))
	return info
}

func main() {
	ctx := context.Background()
	info := providerInfo()
	schema := []byte(fmt.Sprintf(`{"name":"random","version":%q}`, version))
	pf.Main(ctx, "random", info, pf.ProviderMetadata{PackageSchema: schema})
}
