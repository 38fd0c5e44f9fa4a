package estimator

import (
	"errors"
	"math"
	"testing"
)

func benchRows(p Params, noise func(i int) float64) []Observation {
	var rows []Observation
	i := 0
	for _, c := range []float64{1, 2, 4, 8, 16, 32, 64} {
		for _, in := range []float64{256, 1024} {
			f := 1 + noise(i)
			i++
			rate := 0.2 * c
			itl, pre := physics(p, c, in, in, rate) // a benchmark run: one prompt length
			rows = append(rows, Observation{Batch: c, ITL: itl * f, Prefill: pre / f, InputTokens: in, Requests: 100, RequestRate: rate})
		}
	}
	return rows
}

func TestFitExact(t *testing.T) {
	res, err := Fit(benchRows(truthH100, func(int) float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	if w := worstRel(res.Params, truthH100); w > 1e-9 {
		t.Errorf("exact data fitted to %+v (%.2g off)", res.Params, w)
	}
	if res.Decode.RMSE > 1e-9 || res.Prefill.MaxRelError > 1e-9 || res.Decode.Points != 14 || res.Decode.Constrained {
		t.Errorf("fit of exact data: %+v", res)
	}
}

// TestFitNoisy: with ±2% deterministic scatter the parameters come within
// 5% and within three standard errors, and the reported error matches the
// scatter.
func TestFitNoisy(t *testing.T) {
	res, err := Fit(benchRows(truthH100, func(i int) float64 { return 0.02 * math.Sin(float64(3*i+1)) }))
	if err != nil {
		t.Fatal(err)
	}
	if w := worstRel(res.Params, truthH100); w > 0.05 {
		t.Errorf("fit %+v is %.1f%% off", res.Params, 100*w)
	}
	for _, p := range [][3]float64{
		{res.Params.Alpha, truthH100.Alpha, res.StdErr.Alpha}, {res.Params.Beta, truthH100.Beta, res.StdErr.Beta},
		{res.Params.Gamma, truthH100.Gamma, res.StdErr.Gamma}, {res.Params.Delta, truthH100.Delta, res.StdErr.Delta},
	} {
		if !(p[2] > 0) || math.Abs(p[0]-p[1]) > 3*p[2] {
			t.Errorf("%v vs truth %v with standard error %v", p[0], p[1], p[2])
		}
	}
	if e := res.Decode.MaxRelError; e < 0.005 || e > 0.04 {
		t.Errorf("decode max relative error %v, want about 2%%", e)
	}
}

func TestFitConstrained(t *testing.T) {
	// Without a request rate the physics only takes the decode part of the
	// admitting step out of the prefill: y = prefill − α(1−e^(−b)) − β·b,
	// b = n − 1, at x = in.
	t.Run("ITL falling with batch: flat at the weighted mean", func(t *testing.T) {
		res, err := Fit([]Observation{
			{Batch: 1, ITL: 10, Prefill: 20, InputTokens: 100, Requests: 1},
			{Batch: 2, ITL: 10, Prefill: 30, InputTokens: 200, Requests: 1},
			{Batch: 4, ITL: 9.5, Prefill: 50, InputTokens: 400, Requests: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		// α = Σ(1/y) / Σ(1/y²), the minimum of Σ((y−α)/y)².
		want := (1/10.0 + 1/10.0 + 1/9.5) / (1/100.0 + 1/100.0 + 1/(9.5*9.5))
		if relDiff(res.Params.Alpha, want) > 1e-12 || res.Params.Beta != 0 || !res.Decode.Constrained || res.Prefill.Constrained {
			t.Errorf("got %+v, decode constrained %v, prefill constrained %v; want alpha %v, beta 0", res.Params, res.Decode.Constrained, res.Prefill.Constrained, want)
		}
	})
	t.Run("prefill through the origin", func(t *testing.T) {
		res, err := Fit([]Observation{
			{Batch: 1, ITL: 10, Prefill: 10, InputTokens: 100, Requests: 1},
			{Batch: 2, ITL: 12, Prefill: 30, InputTokens: 200, Requests: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		// Decode is exact: α = 8, β = 2. Prefill points (100, 10) and
		// (200, 30 − 8(1−e^(−1)) − 2) have a negative intercept: γ = 0 and
		// δ = Σ(x/y) / Σ(x²/y²).
		y2 := 30 - 8*(1-math.Exp(-1)) - 2
		want := Params{Alpha: 8, Beta: 2, Gamma: 0, Delta: (100/10.0 + 200/y2) / (100*100/100.0 + 200*200/(y2*y2))}
		if w := worstRel(res.Params, want); w > 1e-9 || !res.Prefill.Constrained || res.Decode.Constrained {
			t.Errorf("got %+v, want %+v (constrained %v %v)", res.Params, want, res.Decode.Constrained, res.Prefill.Constrained)
		}
		if !math.IsNaN(res.Decode.InterceptStdErr) {
			t.Errorf("two points give no standard error, got %v", res.Decode.InterceptStdErr)
		}
	})
}

func TestFitRefusesBadInput(t *testing.T) {
	ok := Observation{Batch: 1, ITL: 10, Prefill: 20, InputTokens: 100, Requests: 1}
	cases := map[string][]Observation{
		"empty":                  nil,
		"one batch size":         {ok, ok},
		"prefill at one in·k":    {ok, {Batch: 2, ITL: 11, Prefill: 30, InputTokens: 100, Requests: 1}},
		"negative latency":       {ok, {Batch: 2, ITL: -1, Requests: 1}},
		"batch below one":        {ok, {Batch: 0, ITL: 1, Requests: 1}},
		"NaN":                    {ok, {Batch: 2, ITL: math.NaN(), Requests: 1}},
		"no prefill measurement": {{Batch: 1, ITL: 10}, {Batch: 2, ITL: 11}},
	}
	for name, rows := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Fit(rows); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("got %v, want ErrInvalidInput", err)
			}
		})
	}
}
