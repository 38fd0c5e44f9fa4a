package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestProfileSourceDefaultsAndEnum(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("profile-source", namespace).Model("llama").Obj()
	if err := env.Client.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
	var got llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(va), &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.ProfileSource != llmdv1alpha1.ProfileSourceAuto {
		t.Errorf("profileSource defaulted to %q, want Auto", got.Spec.ProfileSource)
	}

	for _, src := range []llmdv1alpha1.ProfileSource{llmdv1alpha1.ProfileSourceSpec, llmdv1alpha1.ProfileSourceLearned} {
		ok := framework.MakeVA("profile-source-"+strings.ToLower(string(src)), namespace).Model("llama").Obj()
		ok.Spec.ProfileSource = src
		if err := env.Client.Create(ctx, ok); err != nil {
			t.Errorf("profileSource %s refused: %v", src, err)
			continue
		}
		_ = env.Client.Delete(ctx, ok)
	}
	bad := framework.MakeVA("profile-source-bad", namespace).Model("llama").Obj()
	bad.Spec.ProfileSource = "Sometimes"
	err := env.Client.Create(ctx, bad)
	if err == nil {
		_ = env.Client.Delete(ctx, bad)
		t.Fatal("profileSource Sometimes accepted")
	}
	for _, want := range []string{"spec.profileSource", `"Spec"`, `"Learned"`, `"Auto"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func learnedProfile() *llmdv1alpha1.LearnedProfile {
	return &llmdv1alpha1.LearnedProfile{
		Decode:             llmdv1alpha1.DecodeParameters{Alpha: "17.9", Beta: "0.599"},
		Prefill:            llmdv1alpha1.PrefillParameters{Gamma: "35.5", Delta: "0.0457"},
		StandardErrors:     llmdv1alpha1.ProfileStandardErrors{Alpha: "0.12", Beta: "0.0041", Gamma: "0.9", Delta: "0.0031"},
		DecodeCorrelation:  "-0.87",
		PrefillCorrelation: "-0.5",
		DecodeSamples:      412, PrefillSamples: 398,
		BatchMin: "1.4", BatchMax: "63.2", InputTokens: "161", DecodeNoise: "0.031", PrefillNoise: "0.054",
		Prior:          "spec",
		LastUpdateTime: &metav1.Time{Time: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)},
	}
}

// TestLearnedProfileStatus: the status keeps a learned profile exactly (it
// is all a restarted operator resumes from) and refuses malformed values.
func TestLearnedProfileStatus(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("learned-status", namespace).Model("llama").Obj()
	if err := env.Client.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
	va.Status.LearnedProfile = learnedProfile()
	if err := env.Client.Status().Update(ctx, va); err != nil {
		t.Fatalf("status update: %v", err)
	}
	var got llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(va), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(learnedProfile(), got.Status.LearnedProfile); diff != "" {
		t.Errorf("learned profile (-want +got):\n%s", diff)
	}

	cases := map[string]struct {
		mutate    func(*llmdv1alpha1.LearnedProfile)
		wantField string
	}{
		"negative standard error": {func(p *llmdv1alpha1.LearnedProfile) { p.StandardErrors.Alpha = "-1" }, "status.learnedProfile.standardErrors.alpha"},
		"correlation beyond -1":   {func(p *llmdv1alpha1.LearnedProfile) { p.DecodeCorrelation = "-2" }, "status.learnedProfile.decodeCorrelation"},
		"zero alpha":              {func(p *llmdv1alpha1.LearnedProfile) { p.Decode.Alpha = "0" }, "status.learnedProfile.decode.alpha"},
		"negative samples":        {func(p *llmdv1alpha1.LearnedProfile) { p.PrefillSamples = -3 }, "status.learnedProfile.prefillSamples"},
		"exponent":                {func(p *llmdv1alpha1.LearnedProfile) { p.BatchMax = "6e1" }, "status.learnedProfile.batchMax"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var cur llmdv1alpha1.VariantAutoscaling
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(va), &cur); err != nil {
				t.Fatal(err)
			}
			lp := learnedProfile()
			tc.mutate(lp)
			cur.Status.LearnedProfile = lp
			err := env.Client.Status().Update(ctx, &cur)
			if err == nil || !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("got %v, want an error naming %s", err, tc.wantField)
			}
		})
	}
}

// TestProfileOptional: a VA may leave spec.profile out (the operator learns
// it), except with profileSource Spec, which is refused with a message
// saying what to do.
func TestProfileOptional(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("no-profile", namespace).Model("llama").Obj()
	va.Spec.Profile = llmdv1alpha1.Profile{}
	if err := env.Client.Create(ctx, va); err != nil {
		t.Fatalf("a VA without a profile is refused: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
	var got llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(va), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Spec.Profile.IsZero() || got.Spec.ProfileSource != llmdv1alpha1.ProfileSourceAuto {
		t.Errorf("profile %+v, profileSource %q", got.Spec.Profile, got.Spec.ProfileSource)
	}

	pinned := framework.MakeVA("no-profile-spec", namespace).Model("llama").Obj()
	pinned.Spec.Profile = llmdv1alpha1.Profile{}
	pinned.Spec.ProfileSource = llmdv1alpha1.ProfileSourceSpec
	err := env.Client.Create(ctx, pinned)
	if err == nil {
		_ = env.Client.Delete(ctx, pinned)
		t.Fatal("profileSource Spec without a profile accepted")
	}
	if !strings.Contains(err.Error(), "spec.profile is required when profileSource is Spec") {
		t.Errorf("unclear error: %v", err)
	}
}
