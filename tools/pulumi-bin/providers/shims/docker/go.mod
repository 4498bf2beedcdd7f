// Stands in for the `shim` package pulumi-docker adds to the upstream provider by a patch: the
// upstream keeps its provider constructor in an internal package, which only a package under the
// upstream's import path may import.
module github.com/terraform-providers/terraform-provider-docker/shim

go 1.25.8
