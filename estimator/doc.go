// Package estimator learns the performance profile of one variant (the
// parameters α, β, γ, δ of docs/model.md) from the metrics its servers
// export, and says how sure it is.
//
// A vLLM-style server's step takes γ + δ·(prompt tokens admitted) when it
// admits requests, plus α + β·b when b requests decode; the parameters are
// the allocator's profile. Read through that serving physics (physics.go),
// each window of a server gives one observation of two linear relations,
//
//	decode   ITL·(1 − u)                      ≈ α + β·n
//	prefill  (TTFT − wait) − (decode part)    ≈ γ + δ·(in + (k − 1)·in_typ)
//
// (n the batch, u the share of time spent prefilling, k the requests
// admitted together, in_typ the typical prompt), so each relation is a
// two-parameter linear regression. The Estimator runs recursive least squares on each (a Kalman
// filter with a static state), starting from a Gaussian prior: the spec
// profile when the VA has one, a weak default by accelerator otherwise. It
// keeps the covariance of each relation, the range of batch sizes seen, a
// directional forgetting factor so the estimate follows a server that
// changes, outlier rejection on the normalised innovation, and a
// regime-change rule that restarts a relation whose observations keep
// disagreeing with it.
//
// [Estimate.Readiness] applies the documented rule deciding when the learned
// profile is good enough for the planner and [Estimate.Contradiction] when
// the data contradict a spec profile (docs/learned-profiles.md); [Fit] is
// the batch least-squares fit the offline fitter (planner fit) uses.
//
// Like the allocator, the package is pure: no I/O, no clock (times are
// arguments), no Kubernetes packages. Times are milliseconds, batch sizes
// requests, token counts tokens.
package estimator
