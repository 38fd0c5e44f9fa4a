package harness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

// foreignObjects is the number of Secrets the foreign client cycles over.
const foreignObjects = 10

// foreignClient is another tenant of the API server: at a steady rate it
// reads and updates Secrets of FloorNamespace (a resource the operator
// neither watches nor writes, so its requests show apart in the API
// counts), alternating a GET and a merge PATCH, and records each request's
// latency. It has no client-side limiter: its latency is the API server's.
type foreignClient struct {
	c    client.Client
	rate float64
}

func newForeignClient(cfg *rest.Config, rate float64) (*foreignClient, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.UserAgent = "loadtest-foreign-client"
	c, err := client.New(cfg, client.Options{Scheme: framework.Scheme})
	if err != nil {
		return nil, err
	}
	return &foreignClient{c: c, rate: rate}, nil
}

func foreignName(i int) string { return fmt.Sprintf("foreign-%02d", i) }

// prepare creates the Secrets (idempotent).
func (f *foreignClient) prepare(ctx context.Context) error {
	for i := range foreignObjects {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: foreignName(i), Namespace: FloorNamespace},
			StringData: map[string]string{"n": "0"}}
		if err := f.c.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating the foreign client's Secret: %w", err)
		}
	}
	return nil
}

// foreignRun is one stretch of the foreign client's traffic.
type foreignRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	lat    []time.Duration
	errors atomic.Int64
}

// start sends requests at the client's rate until stop.
func (f *foreignClient) start(ctx context.Context) *foreignRun {
	ctx, cancel := context.WithCancel(ctx)
	run := &foreignRun{cancel: cancel}
	period := time.Duration(float64(time.Second) / f.rate)
	run.wg.Add(1)
	go func() {
		defer run.wg.Done()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			run.wg.Add(1)
			go func(i int) {
				defer run.wg.Done()
				run.request(ctx, f.c, i)
			}(i)
		}
	}()
	return run
}

func (run *foreignRun) request(ctx context.Context, c client.Client, i int) {
	key := client.ObjectKey{Namespace: FloorNamespace, Name: foreignName(i % foreignObjects)}
	t := time.Now()
	var err error
	if i%2 == 0 {
		err = c.Get(ctx, key, &corev1.Secret{})
	} else {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}
		patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"stringData":{"n":"%d"}}`, i))
		err = c.Patch(ctx, s, patch)
	}
	d := time.Since(t)
	if ctx.Err() != nil {
		return // cut off by stop: not a measurement
	}
	if err != nil {
		run.errors.Add(1)
		return
	}
	run.mu.Lock()
	run.lat = append(run.lat, d)
	run.mu.Unlock()
}

// stop ends the run and returns the latencies and the number of failed requests.
func (run *foreignRun) stop() ([]time.Duration, int) {
	run.cancel()
	run.wg.Wait()
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.lat, int(run.errors.Load())
}

// measure runs the client for d and returns what stop returns.
func (f *foreignClient) measure(ctx context.Context, d time.Duration) ([]time.Duration, int) {
	run := f.start(ctx)
	sleep(ctx, d)
	return run.stop()
}
