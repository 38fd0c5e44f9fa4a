package v1alpha1

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestAbsentProfile(t *testing.T) {
	var spec VariantAutoscalingSpec
	if _, err := spec.Profile.Parse(); !errors.Is(err, ErrNoProfile) {
		t.Errorf("absent profile: %v, want ErrNoProfile", err)
	}
	if !strings.Contains(ErrNoProfile.Error(), "held") {
		t.Errorf("message %q does not say the replicas are held", ErrNoProfile)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"profile"`) {
		t.Errorf("an absent profile is written: %s", b)
	}
	// A profile given but incomplete is still invalid, with its own message.
	spec.Profile.MaxBatchSize = 8
	if _, err := spec.Profile.Parse(); err == nil || errors.Is(err, ErrNoProfile) {
		t.Errorf("incomplete profile: %v", err)
	}
	if got := spec.EffectiveProfileSource(); got != ProfileSourceAuto {
		t.Errorf("unset profileSource is %q, want Auto", got)
	}
}
