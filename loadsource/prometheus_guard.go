package loadsource

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// MaxResponseBytes bounds one Prometheus answer. The grouped queries return
// one series per model group (a few hundred bytes each), so 64 MiB holds far
// more groups than a cluster has, while a misbehaving server or proxy cannot
// make the manager (whose container is limited to 1 GiB) read without end.
const MaxResponseBytes = 64 << 20

// limitBodies makes every response body of rt fail once it exceeds limit
// bytes, with an error that says so.
func limitBodies(rt http.RoundTripper, limit int64) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.Body == nil {
			return resp, err
		}
		resp.Body = &limitedBody{rc: resp.Body, left: limit, limit: limit}
		return resp, nil
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// limitedBody reads at most limit bytes and then fails.
type limitedBody struct {
	rc          io.ReadCloser
	left, limit int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the Prometheus response is larger than %d MiB; refusing to read more", b.limit>>20)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// vllmSelector matches a vLLM metric name that has no label matcher yet.
var vllmSelector = regexp.MustCompile(`(vllm:[A-Za-z0-9_:]+)([^A-Za-z0-9_:{]|$)`)

// scopeQueries restricts the vLLM selectors of the queries to the watched
// namespaces (none: no restriction), so that Prometheus is only asked about
// groups the manager can plan.
func scopeQueries(qs []promQuery, namespaces []string) []promQuery {
	if len(namespaces) == 0 {
		return qs
	}
	quoted := make([]string, len(namespaces))
	for i, ns := range namespaces {
		quoted[i] = regexp.QuoteMeta(ns)
	}
	matcher := fmt.Sprintf(`{%s=~%q}`, labelNamespace, strings.Join(quoted, "|"))
	out := make([]promQuery, len(qs))
	for i, q := range qs {
		q.promQL = vllmSelector.ReplaceAllString(q.promQL, "${1}"+matcher+"${2}")
		out[i] = q
	}
	return out
}

// keepNamespaces drops the readings of groups outside the watched
// namespaces (none: keep all): such a group would be enqueued and then fail
// against the manager's namespaced cache.
func (p *promSnapshot) keepNamespaces(namespaces []string) {
	if p == nil || len(namespaces) == 0 {
		return
	}
	watched := make(map[string]bool, len(namespaces))
	for _, ns := range namespaces {
		watched[ns] = true
	}
	drop := func(k modelgroup.Key) bool { return !watched[k.Namespace] }
	for k := range p.groups {
		if drop(k) {
			delete(p.groups, k)
		}
	}
	for _, m := range p.inRetention {
		for k := range m {
			if drop(k) {
				delete(m, k)
			}
		}
	}
	for _, m := range p.dataSince {
		for k := range m {
			if drop(k) {
				delete(m, k)
			}
		}
	}
}

// failRetention records that the query of requests within retention failed.
func (p *promSnapshot) failRetention(retention time.Duration, err error) {
	if p.retentionErr == nil {
		p.retentionErr = map[time.Duration]error{}
	}
	p.retentionErr[retention] = err
}
