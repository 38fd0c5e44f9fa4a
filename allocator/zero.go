package allocator

import (
	"math"
	"time"
)

// Rules around zero replicas: waking a group at zero, and proving idleness
// before sending a group to zero.

// totalCurrent is the group's replicas running now.
func totalCurrent(vs []Variant) int {
	n := 0
	for _, v := range vs {
		n += v.Current
	}
	return n
}

// totalPlanned is the replicas a plan decided.
func totalPlanned(plans []variantPlan) int {
	n := 0
	for _, p := range plans {
		n += p.n
	}
	return n
}

// zeroTransition returns the group's LeftZero and AtZero after this plan's
// observation: a group seen with replicas after a plan that saw none left
// zero now.
func zeroTransition(in Input) (leftZero time.Time, atZero bool) {
	atZero = totalCurrent(in.Variants) == 0
	leftZero = in.State.LeftZero
	if in.State.AtZero && !atZero {
		leftZero = in.Now
	}
	return leftZero, atZero
}

// idleProvenAt is the earliest time the group can be proven idle: a
// retention period after the latest of the start of the data
// (Load.DataSince), the newest variant's creation and the group's last exit
// from zero. Zero when none of them is known.
func idleProvenAt(in Input, leftZero time.Time) time.Time {
	var from time.Time
	for _, t := range []time.Time{in.Load.DataSince, in.CreatedAt, leftZero} {
		if t.After(from) {
			from = t
		}
	}
	if from.IsZero() {
		return time.Time{}
	}
	return from.Add(in.Policy.Retention)
}

// hasDemandEvidence reports whether requests wait or arrive for the model.
// It is used when the load is not Available: the rate is then a lower bound
// (the gateway counts requests no pod measured), never a reason to go down.
func hasDemandEvidence(l Load) bool {
	return (l.Waiting > 0 && !math.IsInf(l.Waiting, 0)) || (l.Rate > 0 && !math.IsInf(l.Rate, 0))
}

// wakeFromZero gives one replica to the cheapest variant of a group held at
// zero without a load reading, when requests wait or arrive at the gateway
// (ReasonScaleFromZero) or scale to zero is off (ReasonKeepCheapest: a
// Deployment created at zero gets its first replica without traffic). It
// only ever raises a count from zero.
func wakeFromZero(in Input, res *Result) {
	for _, d := range res.Variants {
		if d.Replicas > 0 {
			return
		}
	}
	demand := hasDemandEvidence(in.Load)
	if !demand && in.Policy.ScaleToZero {
		return
	}
	pick := -1
	for i, v := range in.Variants {
		if v.Max == 0 || (pick >= 0 && !cheaperVariant(v, in.Variants[pick])) {
			continue
		}
		pick = i
	}
	if pick < 0 {
		return
	}
	v := in.Variants[pick]
	n := v.bounded(1)
	reason := ReasonKeepCheapest
	if demand {
		reason = ReasonScaleFromZero
	}
	res.Variants[pick] = Decision{Name: v.Name, Replicas: n, Reason: reason, Cost: finite(v.Cost * float64(n))}
	res.State.LeftZero = in.Now
}

// cheaperVariant orders variants by cost per replica, then name.
func cheaperVariant(a, b Variant) bool {
	if a.Cost != b.Cost {
		return a.Cost < b.Cost
	}
	return a.Name < b.Name
}

// scaleFromZero names the keep-cheapest replica of a group at zero with
// requests waiting at the gateway for what it is: a wake-up.
func scaleFromZero(vs []Variant, plans []variantPlan, load Load) {
	if totalCurrent(vs) > 0 || load.Waiting <= 0 {
		return
	}
	for i := range plans {
		if plans[i].reason == ReasonKeepCheapest {
			plans[i].reason = ReasonScaleFromZero
		}
	}
}
