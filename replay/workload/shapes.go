package workload

// Published statistics the request shapes are fitted to. The sources give
// means (and histograms); the log-space spread σ is chosen so that the
// median sits well below the mean, as the published histograms show
// (docs/decision-quality.md discusses the fit).
const (
	// ShareGPT as used by the vLLM paper (Kwon et al., "Efficient Memory
	// Management for Large Language Model Serving with PagedAttention",
	// SOSP 2023, Fig. 11): mean 161.31 input and 337.99 output tokens.
	ShareGPTMeanIn  = 161.31
	ShareGPTMeanOut = 337.99
	// LMSYS-Chat-1M (Zheng et al., ICLR 2024, Table 1): 69.5 tokens per
	// user prompt and 214.5 per response on average.
	LMSYSMeanIn  = 69.5
	LMSYSMeanOut = 214.5
)

// ContextLimit bounds prompt and output lengths (a 4k-token context per
// part, as benchmark harnesses filter ShareGPT).
const ContextLimit = 4096

// ShareGPT is the chat shape of the ShareGPT traces: heavy-tailed input and
// output. The means before clamping are raised slightly so that the clamped
// means match the published ones.
func ShareGPT() Shape {
	return Shape{
		Name: "sharegpt",
		In:   LogNormalWithMean(ShareGPTMeanIn*1.004, 1.2, 4, ContextLimit),
		Out:  LogNormalWithMean(ShareGPTMeanOut*1.001, 1.0, 1, ContextLimit),
	}
}

// LMSYS is the chat shape of LMSYS-Chat-1M: short prompts, medium answers.
func LMSYS() Shape {
	return Shape{
		Name: "lmsys",
		In:   LogNormalWithMean(LMSYSMeanIn*1.01, 1.3, 2, ContextLimit),
		Out:  LogNormalWithMean(LMSYSMeanOut, 0.9, 1, ContextLimit),
	}
}

// LongPrompt is a retrieval-augmented / summarisation shape: long prompts,
// short answers (an assumption, not fitted to a public trace).
func LongPrompt() Shape {
	return Shape{
		Name: "long-prompt",
		In:   LogNormalWithMean(2000, 0.6, 64, 8*1024),
		Out:  LogNormalWithMean(200, 0.8, 1, ContextLimit),
	}
}
