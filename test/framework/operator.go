package framework

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Operator is the product's controllers running in-process against an Env.
type Operator struct {
	*controller.Operator
	Manager manager.Manager
	// Reconciles counts group reconciles per group and trigger.
	Reconciles *ReconcileCounter

	cancel context.CancelFunc
	done   chan error
}

// StartOperator starts a manager with SetupControllers, exactly as the
// manager binary wires it, with fresh metrics so tests read exact counts and
// a fresh config store unless opts.Store is set.
func (e *Env) StartOperator(opts controller.Options, watchNamespaces ...string) (*Operator, error) {
	if opts.ConfigNamespace == "" {
		return nil, fmt.Errorf("StartOperator: set ConfigNamespace")
	}
	mgr, err := manager.New(e.Config, manager.Options{
		Scheme:                 Scheme,
		Cache:                  controller.CacheOptions(opts.ConfigNamespace, watchNamespaces),
		MapperProvider:         controller.NewRESTMapper,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("creating a manager: %w", err)
	}
	if opts.Store == nil {
		opts.Store = config.NewStore(nil)
	}
	setTestLogger()
	counter := NewReconcileCounter()
	if opts.Metrics == nil {
		opts.Metrics = controller.NewMetrics()
	}
	opts.SkipNameValidation = true
	user := opts.ObserveReconcile
	opts.ObserveReconcile = func(k modelgroup.Key, t modelgroup.Trigger) {
		counter.observe(k, t)
		if user != nil {
			user(k, t)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	op, err := controller.SetupControllers(ctx, mgr, opts)
	if err != nil {
		cancel()
		return nil, err
	}
	o := &Operator{Operator: op, Manager: mgr, Reconciles: counter, cancel: cancel, done: make(chan error, 1)}
	go func() { o.done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("the manager's cache did not sync")
	}
	return o, nil
}

// Stop stops the manager and waits for it.
func (o *Operator) Stop() error {
	o.cancel()
	return <-o.done
}

// ReconcileCounter counts reconciles by group and trigger.
type ReconcileCounter struct {
	mu     sync.Mutex
	counts map[modelgroup.Key]map[modelgroup.Trigger]int
}

// NewReconcileCounter returns an empty counter.
func NewReconcileCounter() *ReconcileCounter {
	return &ReconcileCounter{counts: map[modelgroup.Key]map[modelgroup.Trigger]int{}}
}

func (c *ReconcileCounter) observe(k modelgroup.Key, t modelgroup.Trigger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts[k] == nil {
		c.counts[k] = map[modelgroup.Trigger]int{}
	}
	c.counts[k][t]++
}

// Snapshot returns reconciles per group (all triggers).
func (c *ReconcileCounter) Snapshot() map[modelgroup.Key]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[modelgroup.Key]int{}
	for k, byTrigger := range c.counts {
		for _, n := range byTrigger {
			out[k] += n
		}
	}
	return out
}

// Since returns the reconciles per group since an earlier Snapshot, without
// groups that had none.
func (c *ReconcileCounter) Since(before map[modelgroup.Key]int) map[modelgroup.Key]int {
	out := map[modelgroup.Key]int{}
	for k, n := range c.Snapshot() {
		if d := n - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// Total returns all reconciles so far.
func (c *ReconcileCounter) Total() int {
	total := 0
	for _, n := range c.Snapshot() {
		total += n
	}
	return total
}

var loggerOnce sync.Once

// setTestLogger logs errors only, unless VA_TEST_LOG=info asks for the
// operator's full log (e.g. to read "Starting reconciliation" lines).
func setTestLogger() {
	loggerOnce.Do(func() {
		level := zapcore.ErrorLevel
		if os.Getenv("VA_TEST_LOG") == "info" {
			level = zapcore.InfoLevel
		}
		log.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(level)))
	})
}
