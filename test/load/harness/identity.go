package harness

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// API Priority and Fairness exempts system:masters, the admin user the
// harness sets the cluster up with. So that the shipped FlowSchema
// (config/apf) decides the operator's share, the operator runs as its
// ServiceAccount with the shipped RBAC, and the foreign client as an
// ordinary user, each in its own flow.

// operatorUser is the manager's ServiceAccount as config/rbac and config/apf
// name it; a client certificate with this name is that ServiceAccount to
// RBAC and to APF.
const operatorUser = "system:serviceaccount:" + config.DefaultNamespace + ":controller-manager"

// operatorIdentity applies config/rbac and config/apf as shipped and returns
// a REST config that authenticates as the manager's ServiceAccount.
func operatorIdentity(ctx context.Context, env *framework.Env) (*rest.Config, error) {
	if err := framework.CreateNamespace(ctx, env.Client, config.DefaultNamespace); err != nil {
		return nil, err
	}
	for _, dir := range []string{"config/rbac", "config/apf"} {
		manifests, err := env.Kubectl(ctx, "", "kustomize", framework.RepoRoot()+"/"+dir)
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", dir, err)
		}
		if out, err := env.Kubectl(ctx, manifests, "apply", "-f", "-"); err != nil {
			return nil, fmt.Errorf("applying %s: %w\n%s", dir, err, out)
		}
	}
	cfg, _, err := env.AddUser(operatorUser, "system:serviceaccounts", "system:serviceaccounts:"+config.DefaultNamespace)
	return cfg, err
}

// foreignUser is the foreign client: an ordinary user, whose requests APF
// puts in the global-default flow.
const foreignUser = "loadtest-foreign-tenant"

// foreignIdentity lets foreignUser get, create and patch the Secrets of
// FloorNamespace and returns a REST config for it.
func foreignIdentity(ctx context.Context, env *framework.Env, c client.Client) (*rest.Config, error) {
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "loadtest-foreign", Namespace: FloorNamespace},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
			Verbs: []string{"get", "create", "patch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "loadtest-foreign", Namespace: FloorNamespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: foreignUser}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("granting the foreign client its Secrets: %w", err)
		}
	}
	cfg, _, err := env.AddUser(foreignUser)
	return cfg, err
}
