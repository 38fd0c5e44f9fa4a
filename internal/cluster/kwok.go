package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// kwok plays the kubelets of the fake GPU nodes: it marks the nodes labelled
// KwokNodeLabel=KwokNodeValue Ready, marks a pod bound to one of them Running
// and Ready once it has waited PodStartDelay (the model loading), and
// finishes deleting pods whose deletion was requested. Pod IPs it hands out
// are fake and never dialled.
//
// The three stages below are all kwok does; they are written for this
// project and replace kwok's stock stage sets.
const kwokStagesTemplate = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.128.0.0/14
  nodeIP: 10.255.255.1
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 8
  nodeLeaseParallelism: 4
  podsOnNodeSyncParallelism: 4
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: gpu-node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: .status.phase
      operator: DoesNotExist
  next:
    statusTemplate: |
      phase: Running
      conditions:
      - type: Ready
        status: "True"
        reason: KubeletReady
        message: node simulated by kwok
        lastHeartbeatTime: {{ Now | Quote }}
        lastTransitionTime: {{ Now | Quote }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: kwok
        kubeProxyVersion: kwok
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: gpu-pod-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: DoesNotExist
    - key: .status.phase
      operator: In
      values: [Pending]
  delay:
    durationMilliseconds: %d
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      conditions:
      - type: Initialized
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: ContainersReady
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      - type: Ready
        status: "True"
        lastTransitionTime: {{ $now | Quote }}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: gpu-pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: .metadata.deletionTimestamp
      operator: Exists
  next:
    finalizers:
      empty: true
    delete: true
`

// startKwok starts kwok against the cluster of kubeconfig and waits until it
// serves its health check.
func startKwok(ctx context.Context, bin, dir, kubeconfig string, podStartDelay time.Duration) (*process, error) {
	cfgPath := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, kwokStagesTemplate, podStartDelay.Milliseconds()), 0o600); err != nil {
		return nil, fmt.Errorf("writing the kwok configuration: %w", err)
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	p, err := startProcess("kwok", bin, dir,
		"--config", cfgPath,
		"--kubeconfig", kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-label-selector", KwokNodeLabel+"="+KwokNodeValue,
		"--server-address", "127.0.0.1:"+itoa(port),
	)
	if err != nil {
		return nil, err
	}
	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	if err := p.waitUntil(ctx, time.Minute, func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, healthz) }); err != nil {
		return nil, fmt.Errorf("%w (and stopping it: %v)", err, p.stop(5*time.Second))
	}
	return p, nil
}

// httpOK GETs url and fails unless the answer is 200.
func httpOK(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
