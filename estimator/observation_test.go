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
			want: Observation{Batch: 1.5, Others: 0.5, ITL: 9, Prefill: 40, InputTokens: 512, Requests: 60, RequestRate: 1, Dispersion: 1}, wantOK: true,
		},
		"queueing: Little's law takes the wait out": {
			w:    Window{Requests: 600, RequestRate: 10, TTFT: 1200, ITL: 20, Running: 31, Waiting: 5, InputTokens: 1000},
			want: Observation{Batch: 32, Others: 31, ITL: 20, Prefill: 700, InputTokens: 1000, Requests: 600, RequestRate: 10, Dispersion: 1, MaxBatch: 64}, wantOK: true, maxBatch: 64,
		},
		"saturated: batch capped at max (the others at max − 1 when read), the wait dominates: prefill dropped": {
			w:    Window{Requests: 600, RequestRate: 10, TTFT: 5000, ITL: 30, Running: 64, Waiting: 40, InputTokens: 1000},
			want: Observation{Batch: 64, Others: 64, ITL: 30, InputTokens: 1000, Requests: 600, RequestRate: 10, Dispersion: 1, MaxBatch: 64}, wantOK: true, maxBatch: 64,
		},
		"wait estimate above TTFT: prefill dropped": {
			w:    Window{Requests: 10, RequestRate: 1, TTFT: 100, ITL: 9, Running: 2, Waiting: 1, InputTokens: 512},
			want: Observation{Batch: 3, Others: 2, ITL: 9, InputTokens: 512, Requests: 10, RequestRate: 1, Dispersion: 1}, wantOK: true,
		},
		"the running gauge's spread: the size-biased batch, Ls + Var/Ls": {
			w:    Window{Requests: 600, RequestRate: 10, TTFT: 60, ITL: 20, InService: 30, RunningVar: 6, HasRunningVar: true, PrefillTime: 50, InputTokens: 1000},
			want: Observation{Batch: 30.2, Others: 30, ITL: 20, Prefill: 50, InputTokens: 1000, Requests: 600, RequestRate: 10, Dispersion: 0.2, HasDispersion: true, MaxBatch: 64}, wantOK: true, maxBatch: 64,
		},
		"a steady batch: no more than the batch in service": {
			w:    Window{Requests: 60, RequestRate: 1, ITL: 9, InService: 0.5, HasRunningVar: true, InputTokens: 512},
			want: Observation{Batch: 1, Others: 0.5, ITL: 9, InputTokens: 512, Requests: 60, RequestRate: 1, HasDispersion: true}, wantOK: true,
		},
		"a spread without its scrapes is not used": {
			w:    Window{Requests: 600, RequestRate: 10, ITL: 20, InService: 30, RunningVar: 6, InputTokens: 1000},
			want: Observation{Batch: 31, Others: 30, ITL: 20, InputTokens: 1000, Requests: 600, RequestRate: 10, Dispersion: 1}, wantOK: true,
		},
		"idle: nothing to learn": {w: Window{Running: 0}},
		"no latency":             {w: Window{Requests: 5, RequestRate: 1}},
		"NaN TTFT is an error":   {w: Window{Requests: 5, RequestRate: 1, TTFT: math.NaN()}, wantErr: true},
		"negative gauge":         {w: Window{Requests: 5, RequestRate: 1, ITL: 9, Running: -1}, wantErr: true},
		"negative variance":      {w: Window{Requests: 5, RequestRate: 1, ITL: 9, RunningVar: -1, HasRunningVar: true}, wantErr: true},
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
