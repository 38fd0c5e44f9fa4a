package harness

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/rest"
)

// APICounts are cumulative API server request counts by "VERB resource"
// (with "/subresource" when there is one), from apiserver_request_total.
type APICounts map[string]float64

// apiScraper reads the API server's /metrics with the admin credentials.
type apiScraper struct {
	http *http.Client
	url  string
}

func newAPIScraper(cfg *rest.Config) (*apiScraper, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	return &apiScraper{http: hc, url: strings.TrimSuffix(cfg.Host, "/") + "/metrics"}, nil
}

// APISample is one scrape: request counts, and the API server's own CPU time.
type APISample struct {
	Requests   APICounts
	CPUSeconds float64
}

func (s *apiScraper) scrape(ctx context.Context) (APISample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, http.NoBody)
	if err != nil {
		return APISample{}, err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return APISample{}, fmt.Errorf("scraping the API server's metrics: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return APISample{}, fmt.Errorf("scraping the API server's metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return APISample{}, fmt.Errorf("parsing the API server's metrics: %w", err)
	}
	out := APISample{Requests: APICounts{}}
	if f := families["apiserver_request_total"]; f != nil {
		for _, m := range f.GetMetric() {
			var verb, resource, sub string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "verb":
					verb = l.GetValue()
				case "resource":
					resource = l.GetValue()
				case "subresource":
					sub = l.GetValue()
				}
			}
			if resource == "" {
				continue // non-resource URLs such as /metrics itself
			}
			key := verb + " " + resource
			if sub != "" {
				key += "/" + sub
			}
			out.Requests[key] += m.GetCounter().GetValue()
		}
	}
	if f := families["process_cpu_seconds_total"]; f != nil && len(f.GetMetric()) > 0 {
		out.CPUSeconds = f.GetMetric()[0].GetCounter().GetValue()
	}
	return out, nil
}

// Sub returns the counts of a minus before, without zeros.
func (a APICounts) Sub(before APICounts) APICounts {
	out := APICounts{}
	for k, v := range a {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// mutatingVerbs change objects.
var mutatingVerbs = []string{"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION", "APPLY", "CREATE", "UPDATE"}

// housekeeping are resources the API server writes on its own every few
// seconds (its identity lease, the kubernetes Service's endpoints); they
// are kept in the counts but left out of Writes.
var housekeeping = []string{"leases", "endpoints", "endpointslices"}

// Writes sums the mutating requests, without the API server's housekeeping.
func (a APICounts) Writes() float64 {
	total := 0.0
	for k, v := range a {
		verb, resource, _ := strings.Cut(k, " ")
		resource, _, _ = strings.Cut(resource, "/")
		if slices.Contains(mutatingVerbs, verb) && !slices.Contains(housekeeping, resource) {
			total += v
		}
	}
	return total
}

// Total sums every request.
func (a APICounts) Total() float64 {
	total := 0.0
	for _, v := range a {
		total += v
	}
	return total
}

// Keys returns the keys in order.
func (a APICounts) Keys() []string { return slices.Sorted(maps.Keys(a)) }
