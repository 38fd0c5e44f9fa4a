package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// DefaultStartupDelay is the time from a replica's request to its readiness
// (pulling the image, loading the weights, warming up): 2 minutes, in ms.
const DefaultStartupDelay = 2 * 60 * 1000.0

// VariantSpec describes one variant of a model.
type VariantSpec struct {
	Name  string
	Model string
	// Profile gives the step times (ms) and the batch limit.
	Profile allocator.Profile
	// KVTokens is the KV-cache budget of one replica, in tokens.
	KVTokens int64
	// CostPerHour is the cost of one replica per hour.
	CostPerHour float64
}

// Config sets up a simulation.
type Config struct {
	Variants []VariantSpec
	// StartupDelay is in ms; 0 means DefaultStartupDelay, a negative value
	// makes new replicas ready at once.
	StartupDelay float64
	// Observer, when set, receives every finished request.
	Observer Observer
	// OnFinish, when set, is called for every finished request.
	OnFinish func(*Request)
}

// Variant is a variant in the simulation with its live replicas.
type Variant struct {
	VariantSpec
	model *Model
	// replicas are the replicas not yet gone, in creation order.
	replicas []*Replica
}

// Model is one model: its variants, its gateway queue and its counters.
type Model struct {
	Name     string
	Variants []*Variant
	// Counters add up the counters of every replica the model ever had.
	Counters Counters
	// Arrived counts the requests that reached the gateway.
	Arrived int64
	gateway []*Request
}

// Sim is the simulated cluster. It is driven from outside: RunUntil
// advances the clock, Arrive and Scale act at the current time.
type Sim struct {
	cfg      Config
	now      float64
	events   eventHeap
	seq      uint64
	admitSeq int64
	models   map[string]*Model
	order    []*Model
	variants map[string]*Variant
	// all holds every replica ever created, for the cost.
	all    []*Replica
	nextID int
	// ScaleActions counts Scale calls that changed a variant's count.
	ScaleActions int
}

// New validates the configuration and builds an empty cluster.
func New(cfg Config) (*Sim, error) {
	if len(cfg.Variants) == 0 {
		return nil, errors.New("sim: no variants")
	}
	s := &Sim{cfg: cfg, models: map[string]*Model{}, variants: map[string]*Variant{}}
	for _, vs := range cfg.Variants {
		if vs.Name == "" || vs.Model == "" {
			return nil, fmt.Errorf("sim: variant %q: name and model must be set", vs.Name)
		}
		if _, dup := s.variants[vs.Name]; dup {
			return nil, fmt.Errorf("sim: duplicate variant %q", vs.Name)
		}
		if err := vs.Profile.Validate(); err != nil {
			return nil, fmt.Errorf("sim: variant %q: %w", vs.Name, err)
		}
		if vs.KVTokens < 1 || !(vs.CostPerHour >= 0) {
			return nil, fmt.Errorf("sim: variant %q: KV tokens must be ≥ 1 and cost ≥ 0", vs.Name)
		}
		m := s.models[vs.Model]
		if m == nil {
			m = &Model{Name: vs.Model}
			s.models[vs.Model] = m
			s.order = append(s.order, m)
		}
		v := &Variant{VariantSpec: vs, model: m}
		m.Variants = append(m.Variants, v)
		s.variants[vs.Name] = v
	}
	return s, nil
}

// Now is the simulated time in ms.
func (s *Sim) Now() float64 { return s.now }

// Model returns a model by name (nil when unknown).
func (s *Sim) Model(name string) *Model { return s.models[name] }

// Models returns the models in configuration order.
func (s *Sim) Models() []*Model { return s.order }

// Variant returns a variant by name (nil when unknown).
func (s *Sim) Variant(name string) *Variant { return s.variants[name] }

func (s *Sim) startupDelay() float64 {
	switch {
	case s.cfg.StartupDelay == 0:
		return DefaultStartupDelay
	case s.cfg.StartupDelay < 0:
		return 0
	}
	return s.cfg.StartupDelay
}

func (s *Sim) schedule(t float64, rp *Replica, kind eventKind) {
	s.seq++
	s.events.push(event{t: t, seq: s.seq, rp: rp, version: rp.version, kind: kind})
}

// RunUntil processes every event up to time t and sets the clock to t.
func (s *Sim) RunUntil(t float64) {
	for len(s.events) > 0 && s.events[0].t <= t {
		e := s.events.pop()
		if e.t > s.now {
			s.now = e.t
		}
		switch e.kind {
		case evStepEnd:
			if e.version == e.rp.version && e.rp.busy {
				e.rp.stepEnd(s.now)
			}
		case evReady:
			if e.rp.State == Starting {
				s.makeReady(e.rp)
			}
		}
	}
	if t > s.now {
		s.now = t
	}
}

// Pending reports whether any event is scheduled.
func (s *Sim) Pending() bool { return len(s.events) > 0 }

// Arrive routes a request arriving now: to the ready, unsaturated replica
// of its model with the fewest outstanding requests, or to the gateway
// queue when there is none (or others already wait there).
func (s *Sim) Arrive(r *Request) error {
	m := s.models[r.Model]
	if m == nil {
		return fmt.Errorf("sim: request %d for unknown model %q", r.ID, r.Model)
	}
	if r.Out < 1 || r.In < 0 {
		return fmt.Errorf("sim: request %d: need in ≥ 0 and out ≥ 1, got %d and %d", r.ID, r.In, r.Out)
	}
	r.Arrival = s.now
	m.Arrived++
	if len(m.gateway) == 0 {
		if rp := m.pick(); rp != nil {
			rp.enqueue(r)
			return nil
		}
	}
	r.ColdStart = !m.anyReady()
	m.gateway = append(m.gateway, r)
	return nil
}

// SaturationQueue is the flow control of the gateway: a replica with this
// many requests waiting is saturated and gets no more; requests then wait
// at the gateway, in arrival order, until a replica has room (the
// endpoint picker's queue-depth saturation threshold).
const SaturationQueue = 5

// pick is the least-outstanding-requests choice among ready replicas that
// are not saturated (ties: the oldest replica); nil when there is none.
func (m *Model) pick() *Replica {
	var best *Replica
	for _, v := range m.Variants {
		for _, rp := range v.replicas {
			if rp.State == Ready && rp.Waiting() < SaturationQueue && (best == nil || rp.Outstanding() < best.Outstanding()) {
				best = rp
			}
		}
	}
	return best
}

func (m *Model) anyReady() bool {
	for _, v := range m.Variants {
		for _, rp := range v.replicas {
			if rp.State == Ready {
				return true
			}
		}
	}
	return false
}

// dispatch hands requests waiting at the gateway to replicas with room.
func (m *Model) dispatch() {
	n := 0
	for n < len(m.gateway) {
		rp := m.pick()
		if rp == nil {
			break
		}
		rp.enqueue(m.gateway[n])
		m.gateway[n] = nil
		n++
	}
	if n > 0 {
		m.gateway = m.gateway[n:]
		if len(m.gateway) == 0 {
			m.gateway = nil
		}
	}
}

// GatewayQueue is the number of requests waiting at the gateway for a
// ready replica with room.
func (m *Model) GatewayQueue() int { return len(m.gateway) }

func (s *Sim) makeReady(rp *Replica) {
	rp.State = Ready
	rp.ReadyAt = s.now
	rp.Variant.model.dispatch()
}

func (s *Sim) newReplica(v *Variant) *Replica {
	s.nextID++
	rp := &Replica{ID: s.nextID, Variant: v, sim: s, RequestedAt: s.now, EndAt: math.Inf(1)}
	v.replicas = append(v.replicas, rp)
	s.all = append(s.all, rp)
	return rp
}

// AddReady adds n replicas that are ready at once (a warm start).
func (s *Sim) AddReady(variant string, n int) error {
	v := s.variants[variant]
	if v == nil {
		return fmt.Errorf("sim: unknown variant %q", variant)
	}
	for range n {
		s.makeReady(s.newReplica(v))
	}
	return nil
}

// Scale sets the number of replicas of a variant that are starting or
// ready. Growing requests new replicas (ready after the start-up delay);
// shrinking first cancels starting replicas (newest first), then drains the
// ready replicas with the fewest outstanding requests.
func (s *Sim) Scale(variant string, n int) error {
	v := s.variants[variant]
	if v == nil {
		return fmt.Errorf("sim: unknown variant %q", variant)
	}
	if n < 0 {
		return fmt.Errorf("sim: variant %q: negative replica count %d", variant, n)
	}
	cur := v.Desired()
	if n == cur {
		return nil
	}
	s.ScaleActions++
	for ; cur < n; cur++ {
		rp := s.newReplica(v)
		if d := s.startupDelay(); d > 0 {
			s.schedule(s.now+d, rp, evReady)
		} else {
			s.makeReady(rp)
		}
	}
	for i := len(v.replicas) - 1; i >= 0 && cur > n; i-- {
		if rp := v.replicas[i]; rp.State == Starting {
			s.retire(rp)
			cur--
		}
	}
	if cur > n {
		ready := make([]*Replica, 0, len(v.replicas))
		for _, rp := range v.replicas {
			if rp.State == Ready {
				ready = append(ready, rp)
			}
		}
		slices.SortStableFunc(ready, func(a, b *Replica) int { return a.Outstanding() - b.Outstanding() })
		for _, rp := range ready[:cur-n] {
			rp.State = Draining
			if !rp.busy && rp.Waiting() == 0 {
				s.retire(rp)
			}
		}
	}
	return nil
}

func (s *Sim) retire(rp *Replica) {
	rp.State = Gone
	rp.EndAt = s.now
	rp.version++
	v := rp.Variant
	v.replicas = slices.DeleteFunc(v.replicas, func(x *Replica) bool { return x == rp })
}

func (s *Sim) firstToken(rp *Replica, r *Request) {
	rp.Variant.model.Counters.firstToken(r.FirstToken - r.Arrival)
}

func (s *Sim) finished(rp *Replica, r *Request) {
	rp.Variant.model.Counters.finished(r)
	if s.cfg.Observer != nil {
		s.cfg.Observer.RequestFinished(rp, r)
	}
	if s.cfg.OnFinish != nil {
		s.cfg.OnFinish(r)
	}
}

// Desired is the number of replicas starting or ready (what a Deployment's
// spec.replicas would say).
func (v *Variant) Desired() int {
	n := 0
	for _, rp := range v.replicas {
		if rp.State == Starting || rp.State == Ready {
			n++
		}
	}
	return n
}

// Count returns the replicas in one state.
func (v *Variant) Count(st ReplicaState) int {
	n := 0
	for _, rp := range v.replicas {
		if rp.State == st {
			n++
		}
	}
	return n
}

// Replicas returns the live replicas (starting, ready, draining).
func (v *Variant) Replicas() []*Replica { return v.replicas }

// Cost is the cost of every replica of every variant over [from, to] (ms).
func (s *Sim) Cost(from, to float64) float64 {
	total := 0.0
	for _, rp := range s.all {
		start, end := math.Max(rp.RequestedAt, from), math.Min(rp.EndAt, to)
		if end > start {
			total += (end - start) / 3.6e6 * rp.Variant.CostPerHour
		}
	}
	return total
}

// InFlight counts requests held anywhere: at the gateway or on a replica.
func (s *Sim) InFlight() int64 {
	var n int64
	for _, m := range s.order {
		n += int64(len(m.gateway))
		for _, v := range m.Variants {
			for _, rp := range v.replicas {
				n += int64(rp.Outstanding())
			}
		}
	}
	return n
}
