package sim

import (
	"container/heap"
	"math"
)

// ReplicaState is the life-cycle stage of a replica.
type ReplicaState int

// The stages of a replica.
const (
	// Starting replicas cost money but take no requests yet.
	Starting ReplicaState = iota
	// Ready replicas take requests from the router.
	Ready
	// Draining replicas take no new requests and finish what they hold.
	Draining
	// Gone replicas hold nothing and cost nothing any more.
	Gone
)

// Replica is one server of a variant.
type Replica struct {
	// ID is unique within the simulation, in creation order.
	ID      int
	Variant *Variant
	State   ReplicaState
	// RequestedAt, ReadyAt and EndAt (ms) bound the time the replica costs
	// money: from its request to the end of its drain (or its cancellation).
	RequestedAt, ReadyAt, EndAt float64
	// Counters are the replica's own cumulative counters.
	Counters Counters

	sim      *Sim
	waiting  []*Request
	whead    int
	running  runHeap
	admitted []*Request // the requests being prefilled in the current step
	steps    int64      // steps completed
	sumBase  int64      // Σ kvBase over running: KV tokens = sumBase + len(running)·steps
	busy     bool
	// The run of steps in progress: stepCount steps of stepDur from stepStart.
	stepStart, stepDur float64
	stepCount          int64
	version            uint64 // invalidates scheduled events
}

// Running is the number of requests in the batch (vllm:num_requests_running).
func (rp *Replica) Running() int { return len(rp.running) + len(rp.admitted) }

// Waiting is the number of requests queued at the replica
// (vllm:num_requests_waiting).
func (rp *Replica) Waiting() int { return len(rp.waiting) - rp.whead }

// Outstanding is what the router balances on: running plus waiting.
func (rp *Replica) Outstanding() int { return rp.Running() + rp.Waiting() }

// KVUsage is the fraction of the KV-cache token budget in use
// (vllm:kv_cache_usage_perc, 0..1).
func (rp *Replica) KVUsage() float64 {
	used := rp.kvUsed()
	for _, r := range rp.admitted {
		used += int64(r.In + r.generated)
	}
	return math.Min(float64(used)/float64(rp.Variant.KVTokens), 1)
}

func (rp *Replica) kvUsed() int64 { return rp.sumBase + int64(len(rp.running))*rp.steps }

func (rp *Replica) pushWaiting(r *Request) { rp.waiting = append(rp.waiting, r) }

func (rp *Replica) pushWaitingFront(r *Request) {
	if rp.whead > 0 {
		rp.whead--
		rp.waiting[rp.whead] = r
		return
	}
	rp.waiting = append([]*Request{r}, rp.waiting...)
}

func (rp *Replica) popWaiting() *Request {
	r := rp.waiting[rp.whead]
	rp.waiting[rp.whead] = nil
	rp.whead++
	if rp.whead == len(rp.waiting) {
		rp.waiting, rp.whead = rp.waiting[:0], 0
	} else if rp.whead > 1024 && rp.whead*2 > len(rp.waiting) {
		n := copy(rp.waiting, rp.waiting[rp.whead:])
		rp.waiting, rp.whead = rp.waiting[:n], 0
	}
	return r
}

// enqueue takes a request from the router.
func (rp *Replica) enqueue(r *Request) {
	rp.Counters.Routed++
	r.Variant = rp.Variant.Name
	r.Dispatched = rp.sim.now
	rp.pushWaiting(r)
	if !rp.busy {
		rp.startStep(rp.sim.now)
		return
	}
	// A run of identical decode steps is cut at the next step boundary so
	// that the new request is admitted there, as the engine would.
	if len(rp.admitted) == 0 && rp.stepCount > 1 && len(rp.running) < rp.Variant.Profile.MaxBatchSize {
		done := int64(math.Floor((rp.sim.now - rp.stepStart) / rp.stepDur))
		if done+1 < rp.stepCount {
			rp.stepCount = done + 1
			rp.scheduleStepEnd()
		}
	}
}

func (rp *Replica) scheduleStepEnd() {
	rp.version++
	end := rp.stepStart + float64(rp.stepCount)*rp.stepDur
	rp.sim.schedule(math.Max(end, rp.sim.now), rp, evStepEnd)
}

// startStep begins the next step (or run of identical decode steps).
func (rp *Replica) startStep(now float64) {
	p := rp.Variant.Profile
	budget := rp.Variant.KVTokens
	nRun := len(rp.running)
	kv := rp.kvUsed()
	// Admission: FIFO, up to the batch limit, while the prompt (plus what a
	// preempted request had generated, recomputed) and one new token for
	// every request in the batch fit into the KV cache.
	var prefill int64
	for rp.Waiting() > 0 && nRun+len(rp.admitted) < p.MaxBatchSize {
		r := rp.waiting[rp.whead]
		tok := int64(r.In + r.generated)
		fits := kv+int64(nRun)+prefill+tok+int64(len(rp.admitted)+1) <= budget
		if !fits && (nRun > 0 || len(rp.admitted) > 0) {
			break
		}
		prefill += tok
		if !r.hasFirstTok { // preemption comes after the first token
			r.Admitted = now
		}
		rp.admitted = append(rp.admitted, rp.popWaiting())
	}
	if len(rp.admitted) > 0 {
		d := p.Gamma + p.Delta*float64(prefill)
		if nRun > 0 {
			d += p.Alpha + p.Beta*float64(nRun)
		}
		rp.beginRun(now, d, 1)
		return
	}
	if nRun == 0 {
		rp.busy = false
		if rp.State == Draining && rp.Waiting() == 0 {
			rp.sim.retire(rp)
		}
		return
	}
	// No room for one more token each: evict the newest requests
	// (recompute later), as vLLM does.
	for kv+int64(len(rp.running)) > budget && len(rp.running) > 1 {
		rp.preemptNewest()
		kv = rp.kvUsed()
	}
	b := int64(len(rp.running))
	untilFinish := rp.running[0].finishStep - rp.steps
	untilFull := max((budget-kv)/b, 1)
	rp.beginRun(now, p.Alpha+p.Beta*float64(b), min(untilFinish, untilFull))
}

func (rp *Replica) beginRun(now, d float64, k int64) {
	rp.busy = true
	rp.stepStart, rp.stepDur, rp.stepCount = now, d, k
	rp.scheduleStepEnd()
}

func (rp *Replica) preemptNewest() {
	newest := 0
	for i, r := range rp.running {
		if r.admitSeq > rp.running[newest].admitSeq {
			newest = i
		}
	}
	r := heap.Remove(&rp.running, newest).(*Request)
	rp.sumBase -= kvBase(r)
	r.generated += 1 + int(rp.steps-r.admitStep)
	r.Preemptions++
	rp.Counters.Preemptions++
	rp.pushWaitingFront(r)
}

// kvBase is the part of a running request's KV tokens that does not grow
// with the step count: tokens = kvBase + steps.
func kvBase(r *Request) int64 { return int64(r.In+r.generated+1) - r.admitStep }

// stepEnd completes the current run of steps at time t.
func (rp *Replica) stepEnd(t float64) {
	rp.steps += rp.stepCount
	s := rp.steps
	if b := int64(len(rp.running)); b > 0 {
		// vLLM observes the inter-token latency of every token as the
		// step that produces it ends (per iteration), not at the finish.
		rp.Counters.decoded(b*rp.stepCount, rp.stepDur)
		rp.Variant.model.Counters.decoded(b*rp.stepCount, rp.stepDur)
	}
	for _, r := range rp.admitted {
		if !r.hasFirstTok {
			r.hasFirstTok, r.FirstToken = true, t
			rp.Counters.firstToken(t - r.Arrival)
			rp.sim.firstToken(rp, r)
		}
		r.admitStep = s
		r.finishStep = s + int64(r.Out-1-r.generated)
		rp.sim.admitSeq++
		r.admitSeq = rp.sim.admitSeq
		rp.sumBase += kvBase(r)
		heap.Push(&rp.running, r)
	}
	clear(rp.admitted)
	rp.admitted = rp.admitted[:0]
	for len(rp.running) > 0 && rp.running[0].finishStep <= s {
		r := heap.Pop(&rp.running).(*Request)
		rp.sumBase -= kvBase(r)
		r.Finish, r.done = t, true
		r.generated = r.Out
		rp.Counters.finished(r)
		rp.sim.finished(rp, r)
	}
	rp.busy = false
	rp.startStep(t)
	if m := rp.Variant.model; len(m.gateway) > 0 && rp.State == Ready && rp.Waiting() < SaturationQueue {
		m.dispatch()
	}
}
