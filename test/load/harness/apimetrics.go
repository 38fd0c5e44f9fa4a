package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
	return parseAPIMetrics(resp.Body)
}

// parseAPIMetrics reads the two series it needs from the text exposition
// line by line: a full parse of the API server's metrics allocates tens of
// MiB, which would show in the RSS measured for the operator.
func parseAPIMetrics(r io.Reader) (APISample, error) {
	out := APISample{Requests: APICounts{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("apiserver_request_total{")):
			labels, value, ok := splitSample(line[len("apiserver_request_total"):])
			if !ok {
				continue
			}
			verb, resource, sub := labelOf(labels, "verb"), labelOf(labels, "resource"), labelOf(labels, "subresource")
			if resource == "" {
				continue // non-resource URLs such as /metrics itself
			}
			key := verb + " " + resource
			if sub != "" {
				key += "/" + sub
			}
			out.Requests[key] += value
		case bytes.HasPrefix(line, []byte("process_cpu_seconds_total ")):
			if v, err := strconv.ParseFloat(strings.TrimSpace(string(line[len("process_cpu_seconds_total "):])), 64); err == nil {
				out.CPUSeconds = v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading the API server's metrics: %w", err)
	}
	return out, nil
}

// splitSample splits `{labels} value [timestamp]`.
func splitSample(b []byte) (labels string, value float64, ok bool) {
	end := bytes.LastIndexByte(b, '}')
	if len(b) == 0 || b[0] != '{' || end < 0 {
		return "", 0, false
	}
	fields := strings.Fields(string(b[end+1:]))
	if len(fields) == 0 {
		return "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", 0, false
	}
	return string(b[1:end]), v, true
}

// labelOf returns the value of a label in `a="x",b="y"` (escapes kept).
func labelOf(labels, name string) string {
	for labels != "" {
		eq := strings.IndexByte(labels, '=')
		if eq < 0 || eq+1 >= len(labels) || labels[eq+1] != '"' {
			return ""
		}
		key := strings.TrimSpace(labels[:eq])
		tail := labels[eq+2:]
		i := 0
		for i < len(tail) && tail[i] != '"' {
			if tail[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(tail) {
			return ""
		}
		if key == name {
			return tail[:i]
		}
		labels = strings.TrimPrefix(tail[i+1:], ",")
	}
	return ""
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
