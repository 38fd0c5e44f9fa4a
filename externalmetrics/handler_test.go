package externalmetrics

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
)

// fixedUser authenticates every request with a client certificate as
// "reader"; authentication itself is TestAuthenticate's.
type fixedUser struct{}

func (fixedUser) authenticate(r *http.Request) (user, error) {
	if r.TLS == nil {
		return user{}, errUnauthenticated
	}
	return user{Name: "reader", Groups: []string{"system:authenticated"}}, nil
}

// reviews answers SubjectAccessReviews: allowed for the namespaces in allow,
// an error for "broken"; it counts the reviews.
type reviews struct {
	allow map[string]bool
	asked []authorizationv1.ResourceAttributes
}

func (rv *reviews) client() *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		attrs := *sar.Spec.ResourceAttributes
		rv.asked = append(rv.asked, attrs)
		if attrs.Namespace == "broken" {
			return true, nil, errors.New("etcd is on fire")
		}
		sar.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: rv.allow[attrs.Namespace]}
		if !sar.Status.Allowed {
			sar.Status.Reason = "no RBAC policy matched"
		}
		return true, sar, nil
	})
	return cs
}

func TestHandler(t *testing.T) {
	desired := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricName}, []string{"namespace", "variant_name"})
	desired.WithLabelValues("team-a", "v1").Set(3)
	rv := &reviews{allow: map[string]bool{"team-a": true}}
	now := time.Unix(1000, 0)
	h := &handler{provider: &Provider{Desired: desired, Now: func() time.Time { return now }}, authn: fixedUser{}, log: logr.Discard(),
		authz: newAccessReviewer(rv.client().AuthorizationV1(), func() time.Time { return now })}
	values := versionPath + "/namespaces/team-a/" + MetricName

	cases := []struct {
		name       string
		method     string
		path       string
		noCert     bool
		wantCode   int
		wantBody   string // a substring
		wantReview bool
	}{
		{name: "liveness needs no identity", path: "/healthz", noCert: true, wantCode: 200, wantBody: "ok"},
		{name: "anything else does", path: values, noCert: true, wantCode: 401, wantBody: `"reason":"Unauthorized"`},
		{name: "discovery", path: versionPath, wantCode: 200, wantBody: `"resources":[{"name":"wva_desired_replicas","singularName":"","namespaced":true,"kind":"ExternalMetricValueList","verbs":["get"]}]`},
		{name: "the group", path: groupPath + "/", wantCode: 200, wantBody: `"preferredVersion":{"groupVersion":"external.metrics.k8s.io/v1beta1","version":"v1beta1"}`},
		{name: "values", path: values + "?labelSelector=variant_name%3Dv1", wantCode: 200, wantBody: `"metricLabels":{"namespace":"team-a","variant_name":"v1"},"timestamp":"1970-01-01T00:16:40Z","value":"3"`, wantReview: true},
		{name: "values again: the decision is remembered", path: values, wantCode: 200, wantBody: `"value":"3"`},
		{name: "no series is an empty list", path: values + "?labelSelector=variant_name%3Dv9", wantCode: 200, wantBody: `"items":[]`},
		{name: "a namespace the user may not read", path: versionPath + "/namespaces/team-b/" + MetricName, wantCode: 403,
			wantBody: `user \"reader\" cannot list wva_desired_replicas.external.metrics.k8s.io in the namespace \"team-b\": no RBAC policy matched`, wantReview: true},
		{name: "the review fails", path: versionPath + "/namespaces/broken/" + MetricName, wantCode: 500, wantBody: "authorizing the request failed", wantReview: true},
		{name: "another metric", path: versionPath + "/namespaces/team-a/wva_current_replicas", wantCode: 404, wantBody: `only wva_desired_replicas is`, wantReview: true},
		{name: "a bad selector", path: values + "?labelSelector=a%20in%20(b", wantCode: 400, wantBody: "labelSelector"},
		{name: "a bad namespace", path: versionPath + "/namespaces/Team_A/" + MetricName, wantCode: 400, wantBody: `namespace \"Team_A\"`},
		{name: "a deeper path", path: values + "/x", wantCode: 404, wantBody: "not a path of the external metrics API"},
		{name: "writes are refused", method: http.MethodPost, path: values, wantCode: 405, wantBody: "external metrics are read with GET"},
		{name: "other APIs are not served", path: "/apis/custom.metrics.k8s.io/v1beta1", wantCode: 404, wantBody: "not served here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := httptest.NewRequest(method, "https://127.0.0.1"+tc.path, http.NoBody)
			if tc.noCert {
				r.TLS = nil
			}
			asked := len(rv.asked)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantCode || !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("%s %s = %d %s, want %d with %s", method, tc.path, w.Code, w.Body.String(), tc.wantCode, tc.wantBody)
			}
			if reviewed := len(rv.asked) > asked; reviewed != tc.wantReview {
				t.Errorf("asked a SubjectAccessReview: %v, want %v", reviewed, tc.wantReview)
			}
		})
	}

	// The review asks what kube-apiserver asks for the same path.
	want := authorizationv1.ResourceAttributes{Namespace: "team-a", Verb: "list", Group: groupName, Version: groupVersion, Resource: MetricName}
	if diff := cmp.Diff(want, rv.asked[0]); diff != "" {
		t.Errorf("review (-want +got):\n%s", diff)
	}
	// After the TTL the user is asked about again.
	now = now.Add(accessCacheTTL)
	asked := len(rv.asked)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://127.0.0.1"+values, http.NoBody))
	if len(rv.asked) != asked+1 || w.Code != 200 {
		t.Errorf("after the TTL: %d reviews (want %d), code %d", len(rv.asked), asked+1, w.Code)
	}
	var list v1beta1.ExternalMetricValueList
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || list.Kind != "ExternalMetricValueList" || list.APIVersion != "external.metrics.k8s.io/v1beta1" {
		t.Errorf("body %s does not decode as an ExternalMetricValueList: %v", w.Body.String(), err)
	}
	var status metav1.Status
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://127.0.0.1/nowhere", http.NoBody))
	if err := json.Unmarshal(w.Body.Bytes(), &status); err != nil || status.Kind != "Status" || status.Code != 404 {
		t.Errorf("body %s is not a Status: %v", w.Body.String(), err)
	}
}
