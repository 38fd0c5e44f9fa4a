// Package workload generates seeded, reproducible request traces: arrival
// times from a rate profile (a non-homogeneous Poisson process, by
// thinning) and per-request input and output lengths from heavy-tailed
// distributions fitted to published statistics of chat traces.
package workload
