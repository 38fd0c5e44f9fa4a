package sim

// Counters are the cumulative serving counters of a replica, or of a model
// summed over every replica it ever had. They mirror vLLM's Prometheus
// metrics, so a scraper can compute the same windowed rates a real cluster
// gives:
//
//	Success                      vllm:request_success_total
//	PromptTokens/GenerationTokens vllm:request_prompt_tokens_sum / _generation_tokens_sum
//	                             (their _count is Success)
//	TTFTSum/TTFTCount            vllm:time_to_first_token_seconds_sum / _count (ms here)
//	ITLSum/ITLCount              vllm:inter_token_latency_seconds_sum / _count (ms here),
//	                             one observation per token as its step ends, as vLLM's
//	                             per-iteration inter-token latencies
//	PrefillSum                   vllm:request_prefill_time_seconds_sum (ms here; _count is Success):
//	                             first admission to first token, observed at the finish as vLLM does
//	Preemptions                  vllm:num_preemptions_total
//
// When each is observed matters to windows of a minute or two, as vLLM's
// do: a window's ITL and the batch read from these sums then describe the
// same steps, and its prefill time and prompt tokens the same requests
// (docs/learned-profiles.md).
//
// The gauges (vllm:num_requests_running, vllm:num_requests_waiting,
// vllm:kv_cache_usage_perc) are methods of Replica. Histograms need every
// observation: an Observer receives each finished request.
type Counters struct {
	Routed           int64
	Success          int64
	PromptTokens     int64
	GenerationTokens int64
	TTFTSum          float64
	TTFTCount        int64
	ITLSum           float64
	ITLCount         int64
	PrefillSum       float64
	Preemptions      int64
}

// Observer receives every finished request with the replica that served it
// (for histograms of TTFT and inter-token latency, per-request logs).
type Observer interface {
	RequestFinished(rep *Replica, r *Request)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(rep *Replica, r *Request)

// RequestFinished calls f.
func (f ObserverFunc) RequestFinished(rep *Replica, r *Request) { f(rep, r) }

func (c *Counters) firstToken(ttft float64) {
	c.TTFTSum += ttft
	c.TTFTCount++
}

func (c *Counters) finished(r *Request) {
	c.Success++
	c.PromptTokens += int64(r.In)
	c.GenerationTokens += int64(r.Out)
	c.PrefillSum += r.FirstToken - r.Admitted
}

// decoded books tokens produced by steps of dur ms each.
func (c *Counters) decoded(tokens int64, dur float64) {
	c.ITLSum += float64(tokens) * dur
	c.ITLCount += tokens
}
