// Command pulumi-resource-kubernetes serves the upstream Pulumi Kubernetes provider.
//
// It does what the upstream cmd/pulumi-resource-kubernetes does, whose module zip lacks the
// generated schema-embed.json and terraform-mapping-embed.json: build.json's "prepare" makes
// them with the upstream generate.go and "overlay" places them here for go:embed.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
