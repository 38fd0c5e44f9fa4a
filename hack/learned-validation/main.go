// Command learned-validation replays the diurnal day of the decision-quality
// report with profiles learned online (issue 15) from no profile, a profile
// twice too slow and one twice too fast, against the true-profile operator,
// and prints the table of docs/learned-profiles.md.
//
//	go run ./hack/learned-validation [-hours 24] [-seed 1] [-window 1m] [-seeds 1,2,3,4,5]
//
// With -seeds it also prints, per start and seed, the attainment lost and
// the cost added against the true-profile run of that seed.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/replay/experiment"
)

func main() {
	hours := flag.Float64("hours", 24, "length of the (compressed) day, hours")
	seed := flag.Uint64("seed", 1, "trace seed")
	scale := flag.Float64("scale", 1, "rate multiplier")
	window := flag.Duration("window", loadsource.DefaultProfileWindow, "per-pod window fed to the estimators (the manager's --profile-window)")
	seedList := flag.String("seeds", "", "comma-separated trace seeds for the attainment-lost table (empty: none)")
	flag.Parse()
	start := time.Now()
	runs, err := experiment.LearnedValidation(*seed, *scale, *hours, float64(window.Milliseconds()), experiment.LearnedStarts())
	if err != nil {
		fmt.Fprintln(os.Stderr, "learned-validation:", err)
		os.Exit(1)
	}
	fmt.Print(experiment.LearnedMarkdown(runs, "chat-8b-l40s"))
	if *seedList != "" {
		var seeds []uint64
		var all [][]experiment.LearnedRun
		for _, f := range strings.Split(*seedList, ",") {
			s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				fmt.Fprintf(os.Stderr, "learned-validation: -seeds: %q is not a seed\n", f)
				os.Exit(2)
			}
			rs := runs // the -seed runs above: not run twice
			if s != *seed {
				if rs, err = experiment.LearnedValidation(s, *scale, *hours, float64(window.Milliseconds()), experiment.LearnedStarts()); err != nil {
					fmt.Fprintln(os.Stderr, "learned-validation:", err)
					os.Exit(1)
				}
			}
			seeds, all = append(seeds, s), append(all, rs)
		}
		fmt.Print("\n" + experiment.LearnedSeedsMarkdown(seeds, all, "chat-8b-l40s"))
	}
	fmt.Printf("\n(%d runs and the true-profile run in %s)\n", len(runs), time.Since(start).Round(time.Second))
}
