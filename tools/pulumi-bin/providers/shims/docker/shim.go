// Package shim exposes the upstream Terraform docker provider's constructor to the bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream SDKv2 provider (its version string is only used in its user agent).
func NewProvider() *schema.Provider {
	return provider.New("ai-gateway-build")()
}
