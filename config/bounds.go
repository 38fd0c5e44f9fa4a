package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Every duration and number of the ConfigMaps has a range; a value outside it
// is rejected like any invalid value (the last good ConfigMap stays in force).
// The ranges keep one typo from turning into back-to-back work (an interval of
// 1ms), a query Prometheus cannot answer in time (a retention of 720h) or a
// number the optimizer refuses (a 32-digit cost). docs/configuration.md lists
// them; the table there and these constants must agree.

// durationRange is the accepted range of a duration, both ends included.
type durationRange struct{ min, max time.Duration }

// Ranges of the durations.
var (
	rangeOptInterval      = durationRange{time.Second, 24 * time.Hour}
	rangePassInterval     = durationRange{time.Second, 24 * time.Hour}
	rangeQueryTimeout     = durationRange{100 * time.Millisecond, 5 * time.Minute}
	rangeStaleness        = durationRange{time.Second, 24 * time.Hour}
	rangeRetention        = durationRange{time.Second, 24 * time.Hour}
	rangeStabilization    = durationRange{0, time.Hour}
	rangeScaleUpPeriod    = durationRange{time.Second, time.Hour}
	rangeLoadJumpConfirm  = durationRange{0, time.Hour}
	rangeBacklogDrain     = durationRange{0, time.Hour}
	rangeServiceClassSLO  = numberRange{0, 3_600_000} // ms, lower end excluded
	rangeServiceClassPrio = intRange{0, 1_000_000}
)

// intRange is the accepted range of a whole number, both ends included.
type intRange struct{ min, max int64 }

// numberRange is the accepted range of a decimal number, both ends included
// unless stated otherwise where it is used.
type numberRange struct{ min, max float64 }

// Ranges of the whole numbers of variantautoscaling-config.
var (
	// rangeMaxReplicasPerVariant is the operator-wide ceiling: it never goes
	// above what the API allows for spec.maxReplicas.
	rangeMaxReplicasPerVariant = intRange{1, llmdv1alpha1.MaxReplicasLimit}
	rangeScaleUpMaxReplicas    = intRange{1, llmdv1alpha1.MaxReplicasLimit}
	rangeScaleUpMaxPercent     = intRange{1, 10_000}
	// rangeLoadJumpFactor: 0 turns the plausibility check off.
	rangeLoadJumpFactor = numberRange{2, 1_000_000}
)

// Unit costs: at most this per accelerator and hour, with at most
// maxCostFractionDigits digits after the point. A cost times the largest
// acceleratorCount (1024) then stays within what the optimizer accepts.
const (
	MaxUnitCost           = 1_000_000
	maxCostFractionDigits = 9
)

// parseBoundedDuration parses a Go duration within r.
func parseBoundedDuration(v string, r durationRange) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a Go duration such as 30s, 5m or 1h30m", truncateValue(v))
	}
	if d < r.min || d > r.max {
		return 0, fmt.Errorf("%q is out of range: must be between %s and %s", truncateValue(v), fmtDuration(r.min), fmtDuration(r.max))
	}
	return d, nil
}

// fmtDuration renders a duration as the docs write it ("1s", "24h", "0s").
func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// parseBoundedInt parses a whole number written in decimal digits within r.
func parseBoundedInt(v string, r intRange) (int64, error) {
	if len(v) > 12 {
		return 0, fmt.Errorf("%q is out of range: must be a whole number from %d to %d", truncateValue(v), r.min, r.max)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number such as 10", truncateValue(v))
	}
	if n < r.min || n > r.max {
		return 0, fmt.Errorf("%q is out of range: must be a whole number from %d to %d", v, r.min, r.max)
	}
	return n, nil
}

// parseLoadJumpFactor parses MAX_LOAD_JUMP_FACTOR: 0 (off) or a decimal in range.
func parseLoadJumpFactor(v string) (float64, error) {
	f, err := llmdv1alpha1.ParseDecimal("value", v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal such as 10", truncateValue(v))
	}
	if f != 0 && (f < rangeLoadJumpFactor.min || f > rangeLoadJumpFactor.max) {
		return 0, fmt.Errorf("%q is out of range: must be 0 (off) or from %g to %g", v, rangeLoadJumpFactor.min, rangeLoadJumpFactor.max)
	}
	return f, nil
}

// checkUnitCost refuses a parsed cost with an absurd digit count: above
// MaxUnitCost, or with more than maxCostFractionDigits decimals.
func checkUnitCost(text string, cost float64) error {
	if _, frac, _ := strings.Cut(text, "."); len(frac) > maxCostFractionDigits {
		return fmt.Errorf("cost: %q has more than %d digits after the decimal point", truncateValue(text), maxCostFractionDigits)
	}
	if cost > MaxUnitCost {
		return fmt.Errorf("cost: %q is out of range: at most %d per accelerator and hour", truncateValue(text), MaxUnitCost)
	}
	return nil
}

// truncateValue shortens a value echoed in an error message.
func truncateValue(v string) string {
	const limit = 40
	if len(v) <= limit {
		return v
	}
	return v[:limit] + "..."
}
