// Package shim exposes the upstream Terraform random provider's constructor to the bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream Plugin Framework provider.
func NewProvider() provider.Provider {
	return upstream.New()
}
