package harness

import "time"

// Result is the outcome of one (strategy, N) run.
type Result struct {
	Strategy   string `json:"strategy"`
	N          int    `json:"n"`
	Groups     int    `json:"groups"`
	Namespaces int    `json:"namespaces"`
	// Settings of the run.
	SteadyIntervalSeconds float64 `json:"steadyIntervalSeconds"`
	TimeboxSeconds        float64 `json:"timeboxSeconds"`
	KubeAPIQPS            float32 `json:"kubeAPIQPS"`
	KubeAPIBurst          int     `json:"kubeAPIBurst"`
	Workers               int     `json:"workers"`
	// StatusWriters of the sharded operator (0 in results older than the
	// field: 16).
	StatusWriters int `json:"statusWriters,omitempty"`
	// OperatorAsAdmin: the operator ran as the admin user, whom APF exempts.
	OperatorAsAdmin bool `json:"operatorAsAdmin,omitempty"`

	// SetupSeconds is the time to start the control plane, create every
	// object and wait until every Deployment is rolled out.
	SetupSeconds float64 `json:"setupSeconds"`
	// Workloads are the pods and nodes the real controllers ran.
	Workloads Workloads `json:"workloads"`
	// HarnessRSSMiB is the process's RSS just before the operator started:
	// the harness's share of every RSS figure.
	HarnessRSSMiB float64 `json:"harnessRSSMiB"`
	// PeakRSSMiB is the process's peak RSS from the operator's start to the
	// end of the run (harness included).
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	// PeakRSSPerPhase is false when the kernel refused to reset the peak:
	// phase peaks are then peaks since the process started.
	PeakRSSPerPhase bool `json:"peakRSSPerPhase"`

	// Initial is the operator's start on the created cluster; Drain is the
	// wait (after the steady scenario, the switch to a long interval) until
	// the operator is idle, from which the event scenarios start.
	Initial   *Phase   `json:"initial,omitempty"`
	Drain     *Phase   `json:"drain,omitempty"`
	Scenarios []*Phase `json:"scenarios"`

	Error string `json:"error,omitempty"`
}

// Workloads describe the Deployments' pods and the fake GPU nodes they run
// on: kube-controller-manager, kube-scheduler and kwok make them.
type Workloads struct {
	// ReplicasPerVA is the Deployments' spec.replicas; 0: 1 and 2 alternately.
	ReplicasPerVA int32 `json:"replicasPerVA"`
	Pods          int   `json:"pods"`
	GPUs          int   `json:"gpus"`
	Nodes         int   `json:"nodes"`
	GPUsPerNode   int   `json:"gpusPerNode"`
	// ControllerQPS is the client QPS of kube-controller-manager and
	// kube-scheduler.
	ControllerQPS float32 `json:"controllerQPS"`
	// ControllerSyncs is kube-controller-manager's workers per controller.
	ControllerSyncs int `json:"controllerSyncs"`
	// RolloutSeconds: from the first Deployment's creation until every
	// Deployment reported all its replicas ready.
	RolloutSeconds float64 `json:"rolloutSeconds"`
}

// Phase is what one scenario (or the initial sync) cost.
type Phase struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Skipped says why the phase did not run.
	Skipped string `json:"skipped,omitempty"`
	// TimedOut: the phase did not converge or go idle within the time box;
	// the counts are then lower bounds.
	TimedOut bool `json:"timedOut,omitempty"`

	// AffectedGroups are the groups the event concerns by construction, and
	// AffectedGroupVAs their live VAs: what a model-group design must evaluate.
	AffectedGroups   int `json:"affectedGroups"`
	AffectedGroupVAs int `json:"affectedGroupVAs"`
	// ChangedVAs are the VAs whose status had to change (or that had to go).
	ChangedVAs int `json:"changedVAs"`
	// DemandedEvaluations is what the strategy's design evaluates for the
	// event, by construction (for global-per-va: requests × VAs).
	DemandedEvaluations float64 `json:"demandedEvaluations"`

	Reconciles   float64 `json:"reconciles"`
	Evaluations  float64 `json:"evaluations"`
	StatusWrites float64 `json:"statusWrites"`
	// ObservedStatusChanges are the status changes the watch saw.
	ObservedStatusChanges int `json:"observedStatusChanges"`

	// API are the API server's request counts during the phase
	// (apiserver_request_total deltas by "VERB resource/subresource"),
	// including the harness's trigger of the event.
	API       APICounts `json:"api"`
	APIWrites float64   `json:"apiWrites"`
	APITotal  float64   `json:"apiTotal"`
	// APIServerCPUSeconds is the kube-apiserver's CPU time during the phase.
	APIServerCPUSeconds float64 `json:"apiServerCPUSeconds"`

	// WindowSeconds is the measuring window of a steady-state phase.
	WindowSeconds float64 `json:"windowSeconds,omitempty"`
	// ConvergenceSeconds: from the event until the watch showed every
	// changed VA as expected (0 when none had to change).
	ConvergenceSeconds float64 `json:"convergenceSeconds"`
	// LatencyP50Seconds and LatencyP99Seconds: from the event to each
	// changed VA's status write, as seen by the watch.
	LatencyP50Seconds float64 `json:"latencyP50Seconds"`
	LatencyP99Seconds float64 `json:"latencyP99Seconds"`
	// ActuationP50Seconds and ActuationP99Seconds (sharded): from the event
	// to the first reconcile of each changed VA's group, which actuates the
	// group before writing its statuses; ActuatedVAs is how many had one.
	ActuationP50Seconds float64 `json:"actuationP50Seconds,omitempty"`
	ActuationP99Seconds float64 `json:"actuationP99Seconds,omitempty"`
	ActuatedVAs         int     `json:"actuatedVAs,omitempty"`
	// Foreign is the foreign client's latency while the phase converged,
	// ForeignIdle the same client's with the operator idle just before.
	Foreign     *ForeignStats `json:"foreign,omitempty"`
	ForeignIdle *ForeignStats `json:"foreignIdle,omitempty"`
	// BusySeconds: from the event until the operator's last work on it
	// (when BusyMeasured: the phase waited for the operator to go idle).
	BusySeconds  float64 `json:"busySeconds"`
	BusyMeasured bool    `json:"busyMeasured"`

	// FloorWrites status updates took FloorSeconds in a tight loop with the
	// operator's client; ConvergenceOverFloor is the ratio.
	FloorWrites          int     `json:"floorWrites"`
	FloorSeconds         float64 `json:"floorSeconds"`
	ConvergenceOverFloor float64 `json:"convergenceOverFloor"`

	// CPUSeconds is the process's CPU time during the phase (operator plus
	// the harness's watches); PeakRSSMiB its peak RSS; HeapMiB the Go heap
	// at the end.
	CPUSeconds float64 `json:"cpuSeconds"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	HeapMiB    float64 `json:"heapMiB"`

	// Mismatches lists some VAs not as expected when the phase ended.
	Mismatches []string `json:"mismatches,omitempty"`
}

// Scenario returns the named phase or nil.
func (r *Result) Scenario(name string) *Phase {
	for _, p := range r.Scenarios {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ForeignStats are the latencies of the foreign client's requests.
type ForeignStats struct {
	Requests      int     `json:"requests"`
	RatePerSecond float64 `json:"ratePerSecond"`
	Errors        int     `json:"errors"`
	P50Seconds    float64 `json:"p50Seconds"`
	P99Seconds    float64 `json:"p99Seconds"`
}

func foreignStats(rate float64, lat []time.Duration, errs int) *ForeignStats {
	return &ForeignStats{Requests: len(lat) + errs, RatePerSecond: rate, Errors: errs,
		P50Seconds: quantile(lat, 0.5).Seconds(), P99Seconds: quantile(lat, 0.99).Seconds()}
}
