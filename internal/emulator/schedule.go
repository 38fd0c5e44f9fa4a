package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// Schedule is the load the emulator plays, per model.
//
//	models:
//	  - namespace: team-a
//	    model: llama-8b
//	    replicas: 1
//	    profile: {maxBatchSize: 64, alpha: 8, beta: 0.3, gamma: 15, delta: 0.02}
//	    phases:
//	      - {duration: 30s, rate: 20, promptTokens: 512, generationTokens: 128, ramp: true}
//	      - {duration: 1m, rate: 20}
//	      - {duration: 10s, rate: 0, ramp: true}
type Schedule struct {
	Models []ModelSchedule `json:"models"`
}

// ModelSchedule is the load of one model in one namespace.
type ModelSchedule struct {
	Namespace string `json:"namespace"`
	Model     string `json:"model"`
	// Profile is the performance of one replica, used to derive the observed
	// TTFT and ITL (default: the H100-like profile of the test builders).
	Profile *Profile `json:"profile,omitempty"`
	// Replicas is the replica count until told otherwise (default 1).
	Replicas *int `json:"replicas,omitempty"`
	// Phases follow one another from the start; after the last, the last
	// phase's rate and tokens continue. No phases: no requests.
	Phases []Phase `json:"phases"`
}

// Profile is allocator.Profile in YAML (milliseconds).
type Profile struct {
	MaxBatchSize int     `json:"maxBatchSize"`
	Alpha        float64 `json:"alpha"`
	Beta         float64 `json:"beta"`
	Gamma        float64 `json:"gamma"`
	Delta        float64 `json:"delta"`
}

func (p Profile) allocator() allocator.Profile {
	return allocator.Profile{MaxBatchSize: p.MaxBatchSize, Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta}
}

// DefaultProfile is the profile of builders.MakeVA (test/builders).
var DefaultProfile = Profile{MaxBatchSize: 64, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}

// Defaults of the token counts of a phase that sets none.
const (
	DefaultPromptTokens     = 512
	DefaultGenerationTokens = 128
)

// Phase is a stretch of constant (or, with Ramp, linearly changing) load.
type Phase struct {
	// Duration of the phase; the last phase lasts for ever.
	Duration Duration `json:"duration"`
	// Rate is the request rate, req/s; with Ramp, the rate reached at the
	// end of the phase, starting from where the previous phase ended.
	Rate float64 `json:"rate"`
	// PromptTokens and GenerationTokens are tokens per request; 0 keeps the
	// previous phase's value (the defaults for the first phase).
	PromptTokens     float64 `json:"promptTokens,omitempty"`
	GenerationTokens float64 `json:"generationTokens,omitempty"`
	Ramp             bool    `json:"ramp,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration struct{ time.Duration }

// UnmarshalJSON accepts "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// ParseSchedule reads a schedule from YAML (or JSON); unknown fields are errors.
func ParseSchedule(data []byte) (Schedule, error) {
	var s Schedule
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return Schedule{}, err
	}
	return s, s.Validate()
}

// LoadSchedule reads a schedule file.
func LoadSchedule(path string) (Schedule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Schedule{}, err
	}
	s, err := ParseSchedule(data)
	if err != nil {
		return Schedule{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Validate checks names, profiles, replicas and phases.
func (s Schedule) Validate() error {
	var errs []error
	seen := map[[2]string]bool{}
	for i, m := range s.Models {
		where := fmt.Sprintf("models[%d] (%s/%s)", i, m.Namespace, m.Model)
		if m.Namespace == "" || m.Model == "" {
			errs = append(errs, fmt.Errorf("%s: namespace and model are required", where))
		}
		if seen[[2]string{m.Namespace, m.Model}] {
			errs = append(errs, fmt.Errorf("%s: listed twice", where))
		}
		seen[[2]string{m.Namespace, m.Model}] = true
		if m.Profile != nil {
			if err := m.Profile.allocator().Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: profile: %w", where, err))
			}
		}
		if m.Replicas != nil && *m.Replicas < 0 {
			errs = append(errs, fmt.Errorf("%s: replicas must not be negative", where))
		}
		if err := validatePhases(m.Phases); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	return errors.Join(errs...)
}

func validatePhases(phases []Phase) error {
	var errs []error
	for j, p := range phases {
		if p.Duration.Duration < 0 || (p.Duration.Duration == 0 && j < len(phases)-1) {
			errs = append(errs, fmt.Errorf("phases[%d]: duration must be positive (only the last phase may omit it)", j))
		}
		if !(p.Rate >= 0) || p.Rate > allocator.MaxRateLimit {
			errs = append(errs, fmt.Errorf("phases[%d]: rate must be in [0, %g]", j, allocator.MaxRateLimit))
		}
		if p.PromptTokens < 0 || (p.GenerationTokens != 0 && p.GenerationTokens < 1) {
			errs = append(errs, fmt.Errorf("phases[%d]: promptTokens must be >= 0 and generationTokens >= 1", j))
		}
	}
	return errors.Join(errs...)
}

// timeline is a model's phases laid out from an origin, with the rate each
// phase starts from and the tokens filled in.
type timeline struct {
	origin time.Time
	phases []laidPhase
}

// laidPhase is a phase on the timeline: from start, the rate goes linearly
// from `from` to `to` over dur (a step when from == to), then stays at `to`
// until the next phase starts.
type laidPhase struct {
	start, dur time.Duration // since the origin
	from, to   float64
	in, out    float64
}

// layout lays phases out from origin; startRate is the rate before the
// first phase (a ramp in the first phase starts from it), in and out the
// token counts before it.
func layout(origin time.Time, phases []Phase, startRate, in, out float64) timeline {
	tl := timeline{origin: origin}
	at, prev := time.Duration(0), startRate
	for _, p := range phases {
		if p.PromptTokens > 0 {
			in = p.PromptTokens
		}
		if p.GenerationTokens > 0 {
			out = p.GenerationTokens
		}
		lp := laidPhase{start: at, dur: p.Duration.Duration, from: p.Rate, to: p.Rate, in: in, out: out}
		if p.Ramp {
			lp.from = prev
		}
		tl.phases = append(tl.phases, lp)
		at, prev = at+p.Duration.Duration, p.Rate
	}
	return tl
}

// phase returns the phase in force at el (elapsed since the origin).
func (tl timeline) phase(el time.Duration) (laidPhase, bool) {
	if len(tl.phases) == 0 {
		return laidPhase{}, false
	}
	cur := tl.phases[0]
	for _, p := range tl.phases[1:] {
		if el < p.start {
			break
		}
		cur = p
	}
	return cur, true
}

// rate returns the request rate at el.
func (tl timeline) rate(el time.Duration) float64 {
	p, ok := tl.phase(el)
	if !ok {
		return 0
	}
	if p.dur > 0 && el < p.start+p.dur {
		f := float64(max(el-p.start, 0)) / float64(p.dur)
		return p.from + (p.to-p.from)*f
	}
	return p.to
}

// tokens returns the tokens per request at el.
func (tl timeline) tokens(el time.Duration) (in, out float64) {
	p, ok := tl.phase(el)
	if !ok {
		return DefaultPromptTokens, DefaultGenerationTokens
	}
	return p.in, p.out
}

// requests returns the number of requests in [a, b] (elapsed times): the
// integral of the rate, exact because the rate is linear between the
// breakpoints (phase starts and ramp ends), where the midpoint rule is exact.
func (tl timeline) requests(a, b time.Duration) float64 {
	if b <= a {
		return 0
	}
	points := []time.Duration{a}
	for _, p := range tl.phases {
		for _, t := range []time.Duration{p.start, p.start + p.dur} {
			if t > a && t < b {
				points = append(points, t)
			}
		}
	}
	points = append(points, b)
	slices.Sort(points)
	total := 0.0
	for i := 1; i < len(points); i++ {
		lo, hi := points[i-1], points[i]
		if hi == lo {
			continue
		}
		total += tl.rate(lo+(hi-lo)/2) * (hi - lo).Seconds()
	}
	return total
}
