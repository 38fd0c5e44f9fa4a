package estimator

// The batch a token sees is the size-biased mean of the number in service,
// Ls + Var/Ls (FromWindow). A window's variance comes from the few scrapes
// of the running gauge it holds (four a minute at a 15-s scrape), so its
// ratio to Ls scatters by most of its value from window to window; read into
// each window's batch, that scatter is noise in the decode relation's
// regressor, which pulls β down and α up (errors in variables). At small
// batches it is most of the spread of the batch itself: on the emulator, a
// server at batches of 1 to 10 was learned with β a third of the truth. The
// ratio, the gauge's index of dispersion, is a property of how requests
// reach the server (1 for Poisson arrivals, about 0.2 behind a router that
// balances outstanding requests) that changes slowly, so the estimator
// keeps a running mean of it and reads every window's batch as Ls plus
// that mean.

// poissonDispersion is the dispersion of Poisson arrivals: the reading
// before any window has shown one.
const poissonDispersion = 1

// batchAt is the batch the window's tokens saw at dispersion d: Ls + d, at
// least 1 and at most MaxBatch.
func (o Observation) batchAt(d float64) float64 {
	n := max(o.Others+d, 1)
	if o.MaxBatch > 0 {
		n = min(n, o.MaxBatch)
	}
	return n
}

// unsaturated says that the window read its mean number in service
// (Others) and its batch stayed below the limit: a saturated server's gauge
// sits at the limit, with a variance that says nothing of how requests
// arrive.
func (o Observation) unsaturated() bool {
	return o.Others > 0 && (o.MaxBatch == 0 || o.Batch < o.MaxBatch)
}

// readBatch updates the running dispersion with the window's own and
// returns the batch the decode relation reads. The mean runs over the
// decode relation's memory, from its start or restart (a new server may
// be reached differently); a window with less than one request in service
// counts in proportion, its variance being mostly zeros.
func (e *Estimator) readBatch(o Observation) float64 {
	if !o.unsaturated() {
		return o.Batch
	}
	if o.HasDispersion {
		rho := max(1/float64(e.decode.n+2), 1-e.cfg.Forgetting) * min(o.Others, 1)
		e.dispersion += rho * (o.Dispersion - e.dispersion)
	}
	return o.batchAt(e.dispersion)
}
