package learning

import (
	"math"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/estimator"
)

// DefaultMaxBatchSize is the batch a replica serves at most when the VA has
// no spec.profile to say it: vLLM's default max_num_seqs.
const DefaultMaxBatchSize = 256

// Profile is the allocator's profile for estimated parameters (α kept
// above the allocator's floor).
func Profile(p estimator.Params, maxBatch int) allocator.Profile {
	return allocator.Profile{MaxBatchSize: maxBatch, Alpha: math.Max(p.Alpha, estimator.MinAlpha), Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta}
}

// OperatingPoint is where the plan would run a replica of a variant with
// parameters p, for the readiness rule: the batch at the replica's
// capacity under the SLO for requests of in and out tokens, and that
// capacity as a function of the parameters, so the rule can weigh the
// uncertainty of each parameter by how much the plan depends on it. The
// batch is 0 when the capacity cannot be computed (the rule then takes the
// largest batch observed).
func OperatingPoint(p estimator.Params, maxBatch int, slo allocator.SLO, in, out float64) estimator.OperatingPoint {
	out = math.Max(out, 1)
	model := func(q estimator.Params) (md allocator.Model, capacity float64, ok bool) {
		md, err := allocator.NewModel(Profile(q, maxBatch), in, out)
		if err != nil {
			return md, 0, false
		}
		c, err := md.Capacity(slo)
		return md, c, err == nil && c > 0
	}
	md, atP, ok := model(p)
	op := estimator.OperatingPoint{InputTokens: in, Capacity: func(q estimator.Params) float64 {
		if q == p {
			return atP // the readiness rule asks for it first: computed once
		}
		_, c, _ := model(q)
		return c
	}}
	if ok {
		if pred, err := md.Predict(atP); err == nil {
			op.Batch = pred.Concurrency
		}
	}
	return op
}
