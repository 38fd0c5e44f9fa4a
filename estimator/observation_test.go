package estimator

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestFromWindow(t *testing.T) {
	cases := map[string]struct {
		w        Window
		maxBatch int
		want     Observation
		wantOK   bool
		wantErr  bool
	}{
		"light load: batch is running + 1, no wait": {
			w:    Window{Requests: 60, RequestRate: 1, TTFT: 40, ITL: 9, Running: 0.5, InputTokens: 512},
			want: Observation{Batch: 1.5, ITL: 9, Prefill: 40, InputTokens: 512, Requests: 60, RequestRate: 1}, wantOK: true,
		},
		"queueing: Little's law takes the wait out": {
			w:    Window{Requests: 600, RequestRate: 10, TTFT: 1200, ITL: 20, Running: 31, Waiting: 5, InputTokens: 1000},
			want: Observation{Batch: 32, ITL: 20, Prefill: 700, InputTokens: 1000, Requests: 600, RequestRate: 10}, wantOK: true, maxBatch: 64,
		},
		"saturated: batch capped at max, the wait dominates: prefill dropped": {
			w:    Window{Requests: 600, RequestRate: 10, TTFT: 5000, ITL: 30, Running: 64, Waiting: 40, InputTokens: 1000},
			want: Observation{Batch: 64, ITL: 30, InputTokens: 1000, Requests: 600, RequestRate: 10}, wantOK: true, maxBatch: 64,
		},
		"wait estimate above TTFT: prefill dropped": {
			w:    Window{Requests: 10, RequestRate: 1, TTFT: 100, ITL: 9, Running: 2, Waiting: 1, InputTokens: 512},
			want: Observation{Batch: 3, ITL: 9, InputTokens: 512, Requests: 10, RequestRate: 1}, wantOK: true,
		},
		"idle: nothing to learn": {w: Window{Running: 0}},
		"no latency":             {w: Window{Requests: 5, RequestRate: 1}},
		"NaN TTFT is an error":   {w: Window{Requests: 5, RequestRate: 1, TTFT: math.NaN()}, wantErr: true},
		"negative gauge":         {w: Window{Requests: 5, RequestRate: 1, ITL: 9, Running: -1}, wantErr: true},
		"negative max batch":     {w: Window{Requests: 5, RequestRate: 1, ITL: 9}, maxBatch: -1, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok, err := FromWindow(tc.w, tc.maxBatch)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("got %v, want ErrInvalidInput", err)
				}
				return
			}
			if err != nil || ok != tc.wantOK {
				t.Fatalf("ok %v err %v, want ok %v", ok, err, tc.wantOK)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateApprox(1e-12, 0)); ok && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
