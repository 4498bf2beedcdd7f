// pulumi-resource-hcloud for CI: the Terraform hcloud provider (an SDKv2 provider muxed with a
// Plugin Framework provider) bridged to Pulumi with the tokens and property names of the
// @pulumi/hcloud npm package (hcloud:index/server:Server, hcloud:index/sshKey:SshKey, ...).
//
// pulumi-hcloud serves the muxed provider with a dispatch table (which of the two upstream
// providers owns each token) that its `make tfgen` writes into bridge-metadata.json. This build
// has no tfgen step: the same table is computed from the upstream schemas when the binary starts.
package main

import (
	"context"
	"fmt"

	"github.com/hetznercloud/terraform-provider-hcloud/hcloud"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shim "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/x/muxer"
	"github.com/pulumi/pulumi-terraform-bridge/v3/unstable/metadata"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Set with -ldflags "-X main.version=..." to the npm package's version (the bridge requires semver).
var version = "0.0.0-dev"

// dispatchResolver is the method of the bridge's muxed shim (returned by pf.MuxShimWithPF) that
// assigns every mapped token to the upstream provider serving it.
type dispatchResolver interface {
	ResolveDispatch(info *tfbridge.ProviderInfo) (muxer.DispatchTable, error)
}

func providerInfo(ctx context.Context) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		// Index 0: the SDKv2 provider (servers, firewalls, volumes, ...); index 1: the Plugin
		// Framework provider (SSH keys, primary IPs, ...). Tokens both define go to the first.
		P:            pf.MuxShimWithPF(ctx, shimv2.NewProvider(hcloud.Provider()), hcloud.NewPluginProvider()),
		Name:         "hcloud",
		Version:      version,
		GitHubOrg:    "hetznercloud",
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
		Resources: map[string]*tfbridge.ResourceInfo{
			"hcloud_server": {PreCheckCallback: defaultAliasIPs},
		},
	}

	// The npm package types every id as a string; some Plugin Framework resources declare an
	// integer id attribute.
	info.P.ResourcesMap().Range(func(tfName string, res shim.Resource) bool {
		id, ok := res.Schema().GetOk("id")
		if !ok || id.Type() == shim.TypeString {
			return true
		}
		r := info.Resources[tfName]
		if r == nil {
			r = &tfbridge.ResourceInfo{}
			info.Resources[tfName] = r
		}
		if r.Fields == nil {
			r.Fields = map[string]*tfbridge.SchemaInfo{}
		}
		r.Fields["id"] = &tfbridge.SchemaInfo{Type: "string"}
		return true
	})

	// hcloud_ssh_key -> hcloud:index/sshKey:SshKey, hcloud_server -> hcloud:index/server:Server, ...
	info.MustComputeTokens(tokens.SingleModule("hcloud_", "index", tokens.MakeStandard("hcloud")))
	// As the npm package: an omitted `name` becomes "<resource name>-<random suffix>".
	info.SetAutonaming(255, "-")
	return info
}

// defaultAliasIPs gives every entry of a server's `networks` an explicit empty `aliasIps` when the
// program leaves it out. Without it the upstream provider plans a spurious change of the
// attached networks on every run (hetznercloud/terraform-provider-hcloud#650); pulumi-hcloud
// applies the same workaround.
func defaultAliasIPs(
	_ context.Context, config resource.PropertyMap, _ resource.PropertyMap,
) (resource.PropertyMap, error) {
	networks, ok := config["networks"]
	if !ok || !networks.IsArray() {
		return config, nil
	}
	for _, entry := range networks.ArrayValue() {
		if !entry.IsObject() {
			continue
		}
		if _, set := entry.ObjectValue()["aliasIps"]; !set {
			entry.ObjectValue()["aliasIps"] = resource.NewProperty([]resource.PropertyValue{})
		}
	}
	return config, nil
}

func main() {
	ctx := context.Background()
	info := providerInfo(ctx)

	// What `make tfgen` would have stored under "mux" in bridge-metadata.json.
	resolver, ok := info.P.(dispatchResolver)
	if !ok {
		panic(fmt.Sprintf("the muxed hcloud shim (%T) cannot resolve its dispatch table", info.P))
	}
	dispatch, err := resolver.ResolveDispatch(&info)
	if err != nil {
		panic(fmt.Sprintf("computing the hcloud dispatch table: %v", err))
	}
	if err := metadata.Set(info.GetMetadata(), "mux", dispatch); err != nil {
		panic(err)
	}

	// Programs in TypeScript never ask a provider for its schema during up, preview or destroy.
	schema := []byte(fmt.Sprintf(`{"name":"hcloud","version":%q}`, version))
	pf.MainWithMuxer(ctx, "hcloud", info, schema)
}
