package framework

import "github.com/llm-d/variant-autoscaler/test/builders"

// VAWrapper and DeploymentWrapper are the builders of package builders,
// re-exported so integration tests need one import.
type (
	VAWrapper         = builders.VAWrapper
	DeploymentWrapper = builders.DeploymentWrapper
)

// MakeVA returns a valid VA builder (see builders.MakeVA).
func MakeVA(name, ns string) *VAWrapper { return builders.MakeVA(name, ns) }

// MakeDeployment returns a Deployment builder (see builders.MakeDeployment).
func MakeDeployment(name, ns string) *DeploymentWrapper { return builders.MakeDeployment(name, ns) }
