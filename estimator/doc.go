// Package estimator learns the performance profile of one variant (the
// parameters α, β, γ, δ of docs/model.md) from the metrics its servers
// export, and says how sure it is.
//
// The allocator's model is linear in the parameters once the batch size is
// known:
//
//	decode step  Td(n) = α + β·n          observed as the mean inter-token latency
//	prefill      Tp(n) = γ + δ·in·n       observed as the mean TTFT minus the queueing wait
//
// so each relation is a two-parameter linear regression. The Estimator runs
// recursive least squares on each (a Kalman filter with a static state),
// starting from a Gaussian prior: the spec profile when the VA has one, a
// weak default by accelerator otherwise. It keeps the covariance of each
// relation, the range of batch sizes seen, a forgetting factor so the
// estimate follows a server that changes, outlier rejection on the
// normalised innovation, and a regime-change rule that restarts a relation
// whose observations keep disagreeing with it.
//
// [Estimate.Readiness] applies the documented rule deciding when the learned
// profile is good enough for the planner (docs/learned-profiles.md); [Fit]
// is the batch least-squares fit the offline fitter (planner fit) uses.
//
// Like the allocator, the package is pure: no I/O, no clock (times are
// arguments), no Kubernetes packages. Times are milliseconds, batch sizes
// requests, token counts tokens.
package estimator
