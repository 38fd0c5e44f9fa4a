// Package learning connects the profile estimator to the VariantAutoscaling
// API: it chooses the profile a variant is planned with (the documented
// rule of docs/learned-profiles.md), sets the ProfileLearned condition, and
// turns an estimate into status.learnedProfile and back, so that the status
// is all a restarted operator needs to resume learning. Everything here is
// pure: the controller calls it with the estimator's state and the time.
package learning
