package estimator

import "math"

// The serving physics the observations are read with. A vLLM-style server
// runs iterations (steps): each step prefills the requests admitted at its
// start and decodes one token for every request already running, and
// takes
//
//	γ + δ·(prompt tokens admitted)   if it admits any      (prefill part)
//	+ α + β·b                        if b requests run      (decode part)
//
// These are the profile's parameters; the allocator's Tp(n) and Td(n) are
// built from them (docs/model.md). What the metrics show per server and
// window is not a step but averages over steps, so each relation is read
// through the physics:
//
//   - Decode. The mean inter-token latency is the mean duration of the
//     steps a request runs in. A share u of the busy time goes to prefill
//     parts, so ITL ≈ (α + β·n)/(1 − u): the observation of Td(n) is
//     ITL·(1 − u), with u = X·(γ/k + δ·in) (X the server's request rate;
//     k requests share a prefill part's γ).
//   - Prefill. After its queueing wait, a request's first token comes at
//     the end of the step that admits it: TTFT − W ≈ γ + δ·(its prompt +
//     the others admitted with it) + [decode part of that step]. The
//     decode part runs the b others in service (Observation.Others), and
//     is absent when none run (probability about e^(−b) at light load):
//     α·(1 − e^(−b)) + β·b.
//     The observation of γ + δ·x is TTFT − W minus that, at
//     x = in + (k − 1)·in_typ: the window's own
//     prompts, and the k − 1 others admitted with each, whose prompts are
//     the server's typical ones (the estimator's running mean), not this
//     window's: a window's mean prompt differs from the typical mostly by
//     which requests happened to finish in it.
//   - k, the requests admitted together, is 1 plus those arriving during
//     the step before: k ≈ 1 + X·ITL.
//
// u and the decode part use the current estimate of the other relation
// (a plug-in fixed point: both settle together). With the request rate
// unknown (0) the corrections are off: u = 0, k = 1.

// maxPrefillShare caps u: beyond it the decode observation is mostly
// correction, not measurement.
const maxPrefillShare = 0.8

// admitted is k, the requests admitted in the same step as one request.
func admitted(o Observation) float64 {
	return 1 + o.RequestRate*o.ITL/1000
}

// prefillShare is u, the share of the busy time spent in prefill parts.
func prefillShare(p Params, o Observation) float64 {
	return clamp(o.RequestRate*(p.Gamma/admitted(o)+p.Delta*o.InputTokens)/1000, 0, maxPrefillShare)
}

// decodePoint is the decode relation's (x, y) for an observation.
func decodePoint(p Params, o Observation) (x, y float64) {
	return o.Batch, o.ITL * (1 - prefillShare(p, o))
}

// decodePart is the mean decode part of the step that admits a request.
func decodePart(p Params, o Observation) float64 {
	b := o.Others
	if b == 0 {
		b = math.Max(o.Batch-1, 0)
	}
	if o.MaxBatch > 0 { // the others decode beside it in a batch of at most MaxBatch
		b = math.Min(b, o.MaxBatch-1)
	}
	return p.Alpha*(1-math.Exp(-b)) + p.Beta*b
}

// prefillPoint is the prefill relation's (x, y), with others the typical
// prompt of the requests admitted with the window's; ok false when nothing
// is left of the observation once the decode part is taken out.
func prefillPoint(p Params, o Observation, others float64) (x, y float64, ok bool) {
	y = o.Prefill - decodePart(p, o)
	return o.InputTokens + (admitted(o)-1)*others, y, y > 0
}
