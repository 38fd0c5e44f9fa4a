package promsource

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakePrometheus answers the instant queries of the load source with a
// vector holding one series per group it serves, and records what it was
// asked. oversize, when set, makes every answer that many bytes long.
type fakePrometheus struct {
	srv *httptest.Server

	mu       sync.Mutex
	groups   [][2]string // namespace, model
	queries  []string
	auth     []string
	oversize int
}

func newFakePrometheus() *fakePrometheus {
	f := &fakePrometheus{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakePrometheus) URL() string  { return f.srv.URL }
func (f *fakePrometheus) Close() error { f.srv.Close(); return nil }

func (f *fakePrometheus) set(oversize int, groups ...[2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.oversize, f.groups, f.queries, f.auth = oversize, groups, nil, nil
}

func (f *fakePrometheus) seen() (queries, auth []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...), append([]string(nil), f.auth...)
}

func (f *fakePrometheus) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.queries = append(f.queries, q)
	if a := r.Header.Get("Authorization"); a != "" {
		f.auth = append(f.auth, a)
	}
	groups, oversize := f.groups, f.oversize
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if oversize > 0 {
		// A valid JSON prefix followed by an endless string: only a limit
		// on the body stops the client from reading it all.
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"x":"`)
		chunk := strings.Repeat("a", 1<<16)
		for n := 0; n < oversize; n += len(chunk) {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
		fmt.Fprint(w, `"},"value":[0,"1"]}]}}`)
		return
	}
	value := valueFor(q)
	var series []string
	if value != "" {
		for _, g := range groups {
			series = append(series, fmt.Sprintf(`{"metric":{"namespace":%q,"model_name":%q},"value":[%d,%q]}`, g[0], g[1], nowUnix(), value))
		}
	}
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, strings.Join(series, ","))
}

// valueFor gives a plausible value for each of the source's queries: 5 req/s
// of 512 input and 128 output tokens, fresh samples; nothing for others.
func valueFor(q string) string {
	switch {
	case strings.HasPrefix(q, "time() -"):
		return "1"
	case strings.Contains(q, "increase(vllm:request_success_total"):
		return "100"
	case strings.Contains(q, "vllm:request_prompt_tokens"):
		return "512"
	case strings.Contains(q, "vllm:request_generation_tokens"):
		return "128"
	case strings.Contains(q, "vllm:time_to_first_token"):
		return "100"
	case strings.Contains(q, "vllm:inter_token_latency"):
		return "20"
	case strings.Contains(q, "rate(vllm:request_success_total"):
		return "5"
	}
	return ""
}

func newRegistry() prometheus.Registerer { return prometheus.NewRegistry() }

func nowUnix() int64 { return time.Now().Unix() }
