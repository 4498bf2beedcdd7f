// pulumi-resource-docker for CI: the Terraform docker provider bridged to Pulumi with the resource
// tokens and property names of the @pulumi/docker npm package for the resources that package
// bridges (Container, Network, Volume, RemoteImage, ...). pulumi-docker's native `Image` (image
// builds) is not included: the gateway never builds images.
package main

import (
	"fmt"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Set with -ldflags "-X main.version=..." to the npm package's version.
var version = "0.0.0-dev"

func main() {
	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(shim.NewProvider()),
		Name:    "docker",
		Version: version,
		Config: map[string]*tfbridge.SchemaInfo{
			// A list with one entry per registry, named in the singular by the npm package.
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: "docker:index/container:Container",
				// Fixed names and host ports cannot exist twice during a replacement.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// One command line, not several: not pluralised.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			// In the npm package `Image` builds images; the Terraform image resource is RemoteImage.
			"docker_image": {
				Tok:    "docker:index/remoteImage:RemoteImage",
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_config": {Tok: "docker:index/serviceConfig:ServiceConfig"},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// Programs in TypeScript never ask a provider for its schema during up, preview or destroy.
	schema := []byte(fmt.Sprintf(`{"name":"docker","version":%q}`, version))
	tfbridge.Main("docker", version, info, schema)
}
