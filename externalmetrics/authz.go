package externalmetrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// Decisions are remembered this long, as kube-apiserver's webhook
// authorizer does by default: an HPA asks every sync period (15 s), so one
// SubjectAccessReview serves a few of its queries.
const (
	accessCacheTTL  = 10 * time.Second
	accessCacheSize = 4096
)

// access is a resource request: verb on the metric in a namespace.
type access struct {
	Namespace, Metric, Verb string
}

// accessReviewer asks the API server whether a user may read a metric, with
// a SubjectAccessReview, the check kube-apiserver makes for its own
// resources. kube-apiserver already authorized the user before proxying;
// this holds for a caller that reached the endpoint some other way with a
// front-proxy certificate.
type accessReviewer struct {
	reviews authorizationv1client.SubjectAccessReviewsGetter
	now     func() time.Time
	mu      sync.Mutex
	cache   map[string]accessDecision
}

func newAccessReviewer(reviews authorizationv1client.SubjectAccessReviewsGetter, now func() time.Time) *accessReviewer {
	return &accessReviewer{reviews: reviews, now: now, cache: map[string]accessDecision{}}
}

type accessDecision struct {
	allowed bool
	reason  string
	until   time.Time
}

// allowed reports whether u may make the access, and why not.
func (a *accessReviewer) allowed(ctx context.Context, u user, req access) (bool, string, error) {
	key := cacheKey(u, req)
	now := a.now()
	a.mu.Lock()
	d, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(d.until) {
		return d.allowed, d.reason, nil
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups, Extra: extraValues(u.Extra),
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: req.Namespace, Verb: req.Verb, Group: groupName, Version: groupVersion, Resource: req.Metric,
		},
	}}
	out, err := a.reviews.SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("asking the API server whether %s may %s %s in %s: %w", u.Name, req.Verb, req.Metric, req.Namespace, err)
	}
	d = accessDecision{allowed: out.Status.Allowed, reason: out.Status.Reason, until: now.Add(accessCacheTTL)}
	a.mu.Lock()
	if len(a.cache) >= accessCacheSize {
		clear(a.cache)
	}
	a.cache[key] = d
	a.mu.Unlock()
	return d.allowed, d.reason, nil
}

func cacheKey(u user, req access) string {
	groups := slices.Clone(u.Groups)
	slices.Sort(groups)
	var b strings.Builder
	for _, s := range []string{u.Name, u.UID, strings.Join(groups, "\x01"), req.Namespace, req.Metric, req.Verb} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	keys := make([]string, 0, len(u.Extra))
	for k := range u.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte(1)
		b.WriteString(strings.Join(u.Extra[k], "\x01"))
		b.WriteByte(0)
	}
	return b.String()
}

func extraValues(extra map[string][]string) map[string]authorizationv1.ExtraValue {
	if len(extra) == 0 {
		return nil
	}
	out := make(map[string]authorizationv1.ExtraValue, len(extra))
	for k, v := range extra {
		out[k] = v
	}
	return out
}
