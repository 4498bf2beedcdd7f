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

func providerInfo() tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:       shimv2.NewProvider(shim.NewProvider()),
		Name:    "docker",
		Version: version,
		Config: map[string]*tfbridge.SchemaInfo{
			// Optional in the npm package, as pulumi-docker declares it: Terraform's `host` is
			// required with a default function, which this default repeats (on Linux).
			"host": {Default: &tfbridge.DefaultInfo{
				EnvVars: []string{"DOCKER_HOST"},
				Value:   "unix:///var/run/docker.sock",
			}},
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
		DataSources: map[string]*tfbridge.DataSourceInfo{
			// As the resource: getRemoteImage, not getImage.
			"docker_image": {Tok: "docker:index/getRemoteImage:getRemoteImage"},
		},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", "index", tokens.MakeStandard("docker")))
	// As pulumi-docker: an omitted `name` becomes "<resource name>-<random suffix>", so the npm
	// package declares `name` optional (RemoteImage's `name` is the image, which keeps it required).
	info.SetAutonaming(255, "-")
	return info
}

func main() {
	info := providerInfo()
	// Programs in TypeScript never ask a provider for its schema during up, preview or destroy.
	schema := []byte(fmt.Sprintf(`{"name":"docker","version":%q}`, version))
	tfbridge.Main("docker", version, info, schema)
}
