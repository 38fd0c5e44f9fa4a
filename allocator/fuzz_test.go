package allocator

import (
	"errors"
	"math"
	"testing"
	"time"
)

func finiteAll(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// FuzzModel: any input either is refused with ErrInvalidInput or gives
// finite predictions in range, and a capacity that meets the SLO.
func FuzzModel(f *testing.F) {
	f.Add(256, 8.0, 0.3, 15.0, 0.02, 1024.0, 256.0, 5.0, 500.0, 50.0)
	f.Add(1, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0)
	f.Add(4096, 1e-9, 0.0, 0.0, 0.0, 0.0, 1.0, 1e12, 1e-9, 1e-9)
	f.Add(64, 20.0, 1.0, 100.0, 0.1, 8000.0, 2000.0, 1e-300, 1e5, 100.0)
	f.Add(0, -1.0, math.NaN(), math.Inf(1), math.Copysign(0, -1), -1.0, 0.5, -1.0, 0.0, math.NaN())
	f.Fuzz(func(t *testing.T, n int, alpha, beta, gamma, delta, in, out, rate, ttft, itl float64) {
		p := Profile{MaxBatchSize: n, Alpha: alpha, Beta: beta, Gamma: gamma, Delta: delta}
		m, err := NewModel(p, in, out)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("NewModel error %v is not ErrInvalidInput", err)
			}
			return
		}
		if mr := m.MaxRate(); !(mr > 0) || !finiteAll(mr) {
			t.Fatalf("MaxRate %v", mr)
		}
		pred, err := m.Predict(rate)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Predict error %v is not ErrInvalidInput", err)
			}
		} else {
			if !finiteAll(pred.TTFT, pred.ITL, pred.Throughput, pred.Blocking, pred.InSystem, pred.InService, pred.Response, pred.Service, pred.Wait, pred.Concurrency) {
				t.Fatalf("non-finite prediction %+v", pred)
			}
			if pred.TTFT < 0 || pred.ITL < alpha || pred.Concurrency < 1 || pred.Concurrency > float64(n) ||
				pred.Blocking < 0 || pred.Blocking > 1 || pred.Throughput > rate*(1+1e-12) || pred.Wait < 0 {
				t.Fatalf("prediction out of range %+v", pred)
			}
		}
		c, err := m.Capacity(SLO{TTFT: ttft, ITL: itl})
		var inf *ErrInfeasible
		switch {
		case err == nil:
			if !(c > 0) || !finiteAll(c) || c > 0.9*m.MaxRate() {
				t.Fatalf("capacity %v outside (0, %v]", c, 0.9*m.MaxRate())
			}
			at, _ := m.Predict(c)
			if at.TTFT > ttft || at.ITL > itl {
				t.Fatalf("at capacity %v: TTFT %v ITL %v miss %v %v", c, at.TTFT, at.ITL, ttft, itl)
			}
		case errors.As(err, &inf):
			if !finiteAll(inf.Achievable, inf.Target) || inf.Achievable < inf.Target || c != 0 {
				t.Fatalf("infeasible %+v with capacity %v", inf, c)
			}
		case !errors.Is(err, ErrInvalidInput):
			t.Fatalf("Capacity error %v", err)
		}
	})
}

// FuzzPlan: a group built from arbitrary bytes is refused with
// ErrInvalidInput or planned within every bound, with finite numbers and
// the load shared out in full.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{10, 1, 0, 5, 2, 20, 3, 1, 255, 0}, 3.0, 500.0, 50.0, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0}, 0.0, 1.0, 1.0, uint8(3))
	f.Add([]byte{200, 50, 3, 3, 9, 1, 200, 0, 0, 7, 9, 9, 9, 9, 9}, 1e4, 1e4, 1e3, uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, rate, ttft, itl float64, flags uint8) {
		const per = 5
		var vs []Variant
		for i := 0; i+per <= len(data) && len(vs) < 8; i += per {
			b := data[i : i+per]
			v := Variant{
				Name:    string(rune('a' + len(vs))),
				Cost:    float64(b[0]),
				Min:     int(b[2] % 4),
				Current: int(b[4] % 16),
				Profile: Profile{MaxBatchSize: 1 + int(b[1])*4, Alpha: 1 + float64(b[1]%32), Beta: float64(b[3]%8) / 10, Gamma: float64(b[0] % 64), Delta: float64(b[2]) / 1000},
			}
			v.Max = v.Min + int(b[3]%8)
			if b[3] >= 200 {
				v.Max = Unbounded
			}
			vs = append(vs, v)
		}
		in := Input{
			Variants: vs,
			SLO:      SLO{TTFT: ttft, ITL: itl},
			Load:     Load{Available: flags&1 == 0, Rate: rate, AvgIn: float64(flags) * 10, AvgOut: 1 + float64(flags>>2)},
			Policy:   Policy{ScaleToZero: flags&2 != 0, Retention: time.Minute, StabilizationWindow: time.Duration(flags>>4) * time.Minute, CostSavingThreshold: 0.1},
			Now:      t0,
		}
		if flags&8 != 0 {
			in.Load.RequestsInRetention = ptr(float64(flags >> 5))
		}
		r, err := Plan(in, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Plan error %v is not ErrInvalidInput", err)
			}
			return
		}
		checkInvariants(t, in, r)
		// Again with the state it returned, a minute later.
		in.State, in.Now = r.State, t0.Add(time.Minute)
		r, err = Plan(in, nil)
		if err != nil {
			t.Fatalf("re-plan: %v", err)
		}
		checkInvariants(t, in, r)
	})
}
