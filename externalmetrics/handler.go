package externalmetrics

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	groupName    = "external.metrics.k8s.io"
	groupVersion = "v1beta1"
	groupPath    = "/apis/" + groupName
	versionPath  = groupPath + "/" + groupVersion
)

// handler serves the external metrics API as the aggregator calls it:
// discovery of the group version (the aggregator falls back to it when an
// extension server does not serve aggregated discovery at /apis) and the
// list of a metric's values in a namespace.
type handler struct {
	provider *Provider
	authn    interface {
		authenticate(*http.Request) (user, error)
	}
	authz *accessReviewer
	log   logr.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/healthz", "/livez", "/readyz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
		return
	}
	u, err := h.authn.authenticate(r)
	if err != nil {
		writeStatus(w, http.StatusUnauthorized, metav1.StatusReasonUnauthorized, err.Error())
		return
	}
	if r.Method != http.MethodGet {
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, fmt.Sprintf("%s is not supported; external metrics are read with GET", r.Method))
		return
	}
	switch {
	case path == versionPath:
		writeJSON(w, http.StatusOK, &metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: groupName + "/" + groupVersion,
			APIResources: []metav1.APIResource{{Name: MetricName, Namespaced: true, Kind: "ExternalMetricValueList", Verbs: metav1.Verbs{"get"}}},
		})
	case path == groupPath:
		v := metav1.GroupVersionForDiscovery{GroupVersion: groupName + "/" + groupVersion, Version: groupVersion}
		writeJSON(w, http.StatusOK, &metav1.APIGroup{
			TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
			Name:     groupName, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v,
		})
	case strings.HasPrefix(path, versionPath+"/namespaces/"):
		parts := strings.Split(strings.TrimPrefix(path, versionPath+"/namespaces/"), "/")
		if len(parts) != 2 {
			writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("%s: not a path of the external metrics API (%s/namespaces/<namespace>/<metric>)", r.URL.Path, versionPath))
			return
		}
		h.serveValues(w, r, u, parts[0], parts[1])
	default:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("%s: not served here", r.URL.Path))
	}
}

// serveValues answers GET .../namespaces/<namespace>/<metric>?labelSelector=.
func (h *handler) serveValues(w http.ResponseWriter, r *http.Request, u user, namespace, metric string) {
	if errs := validation.IsDNS1123Label(namespace); len(errs) > 0 {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("namespace %q: %s", namespace, strings.Join(errs, "; ")))
		return
	}
	ok, reason, err := h.authz.allowed(r.Context(), u, access{Namespace: namespace, Metric: metric, Verb: "list"})
	if err != nil {
		h.log.Error(err, "Authorizing an external metrics request failed", "user", u.Name, "namespace", namespace, "metric", metric)
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "authorizing the request failed; see the operator's log")
		return
	}
	if !ok {
		msg := fmt.Sprintf("user %q cannot list %s.%s in the namespace %q", u.Name, metric, groupName, namespace)
		if reason != "" {
			msg += ": " + reason
		}
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, msg)
		return
	}
	if metric != MetricName {
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, fmt.Sprintf("the external metric %q is not served here; only %s is", metric, MetricName))
		return
	}
	selector, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("labelSelector: %v", err))
		return
	}
	list, err := h.provider.Values(namespace, selector)
	if err != nil {
		h.log.Error(err, "Reading the desired replicas failed", "namespace", namespace)
		writeStatus(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, "reading the desired replicas failed; see the operator's log")
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string) {
	writeJSON(w, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: message, Reason: reason, Code: int32(code),
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"InternalError","code":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
