// Exposes the upstream Terraform random provider's constructor, which lives in an internal package.
module github.com/terraform-providers/terraform-provider-random/shim

go 1.25.8
