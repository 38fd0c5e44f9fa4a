package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const premiumYAML = `name: Premium
priority: 1
data:
  - model: default/default
    slo-tpot: 24
    slo-ttft: 500
  - model: meta/llama0-70b
    slo-tpot: 80
    slo-ttft: 500
`

const freemiumYAML = `name: Freemium
priority: 10
data:
  - model: granite-13b
    slo-tpot: 200
    slo-ttft: 2000
  - model: meta/llama0-7b
    namespace: team-a
    slo-tpot: 150
    slo-ttft: 1500
`

func TestParseServiceClasses(t *testing.T) {
	tests := map[string]struct {
		data    map[string]string
		want    map[string]ServiceClass
		wantErr []string
	}{
		"empty": {
			want: map[string]ServiceClass{},
		},
		"predecessor example": {
			data: map[string]string{"premium.yaml": premiumYAML, "freemium.yaml": freemiumYAML},
			want: map[string]ServiceClass{
				"Premium": {Name: "Premium", Priority: 1, SLOs: map[ModelRef]SLO{
					{ModelID: "default/default"}: {TTFT: 500, ITL: 24},
					{ModelID: "meta/llama0-70b"}: {TTFT: 500, ITL: 80},
				}},
				"Freemium": {Name: "Freemium", Priority: 10, SLOs: map[ModelRef]SLO{
					{ModelID: "granite-13b"}:                         {TTFT: 2000, ITL: 200},
					{Namespace: "team-a", ModelID: "meta/llama0-7b"}: {TTFT: 1500, ITL: 150},
				}},
			},
		},
		"JSON, fractional SLOs, default priority, no data": {
			data: map[string]string{
				"a": `{"name": "a", "data": [{"model": "m", "slo-ttft": 250.5, "slo-tpot": 12.25}]}`,
				"b": `{"name": "b"}`,
			},
			want: map[string]ServiceClass{
				"a": {Name: "a", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 250.5, ITL: 12.25}}},
				"b": {Name: "b", SLOs: map[ModelRef]SLO{}},
			},
		},
		"same model in different namespaces of different classes": {
			data: map[string]string{
				"a": "name: a\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n",
				"b": "name: b\ndata:\n- {model: m, namespace: ns1, slo-ttft: 2, slo-tpot: 2}\n",
			},
			want: map[string]ServiceClass{
				"a": {Name: "a", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 1, ITL: 1}}},
				"b": {Name: "b", SLOs: map[ModelRef]SLO{{Namespace: "ns1", ModelID: "m"}: {TTFT: 2, ITL: 2}}},
			},
		},

		// Invalid.
		"bad YAML": {
			data:    map[string]string{"premium.yaml": "name: [x"},
			wantErr: []string{"service-classes-config", `key "premium.yaml"`, "not valid YAML or JSON"},
		},
		"missing name": {
			data:    map[string]string{"premium.yaml": "priority: 1\n"},
			wantErr: []string{`key "premium.yaml"`, "name: required"},
		},
		"name not a string": {
			data:    map[string]string{"premium.yaml": "name: [a]\n"},
			wantErr: []string{`key "premium.yaml"`, "name: expected a string"},
		},
		"duplicate name across keys": {
			data:    map[string]string{"a.yaml": "name: gold\n", "b.yaml": "name: gold\n"},
			wantErr: []string{`key "b.yaml"`, `class "gold" is already defined by key "a.yaml"`},
		},
		"negative priority": {
			data:    map[string]string{"p": "name: p\npriority: -1\n"},
			wantErr: []string{`key "p"`, "priority: must be from 0 to 1000000"},
		},
		"fractional priority": {
			data:    map[string]string{"p": "name: p\npriority: 1.5\n"},
			wantErr: []string{`key "p"`, "priority: expected a whole number"},
		},
		"string priority": {
			data:    map[string]string{"p": "name: p\npriority: high\n"},
			wantErr: []string{`key "p"`, "priority: expected a number"},
		},
		"data not a list": {
			data:    map[string]string{"p": "name: p\ndata: {model: m}\n"},
			wantErr: []string{`key "p"`, "data: expected a list"},
		},
		"entry not a mapping": {
			data:    map[string]string{"p": "name: p\ndata: [m1]\n"},
			wantErr: []string{`key "p"`, "data[0] must be a mapping"},
		},
		"missing model": {
			data:    map[string]string{"p": "name: p\ndata:\n- {slo-ttft: 1, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, "data[0].model: required"},
		},
		"YAML reads an unquoted no as a boolean": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: no, slo-ttft: 1, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, "data[0].model: expected a string, got boolean false; put the value in quotes"},
		},
		"missing slo-ttft": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, "data[0].slo-ttft: required"},
		},
		"missing slo-tpot in second entry": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n- {model: m2, slo-ttft: 1}\n"},
			wantErr: []string{`key "p"`, "data[1].slo-tpot: required"},
		},
		"zero slo": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 0, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, "data[0].slo-ttft: must be > 0"},
		},
		"negative slo": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: -3}\n"},
			wantErr: []string{`key "p"`, "data[0].slo-tpot: must be > 0"},
		},
		"string slo": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 500ms, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, "data[0].slo-ttft: expected a number"},
		},
		"infinite slo": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: .inf, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`},
		},
		"unknown field in class": {
			data:    map[string]string{"p": "name: p\nprio: 1\n"},
			wantErr: []string{`key "p"`, "unknown field prio", "known fields: name, priority, data"},
		},
		"unknown field in entry": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1, slo-itl: 1}\n"},
			wantErr: []string{`key "p"`, "unknown field data[0].slo-itl"},
		},
		"field in wrong case": {
			data:    map[string]string{"p": "Name: p\n"},
			wantErr: []string{`key "p"`, `unknown field Name (did you mean "name"?)`},
		},
		"bad namespace": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, namespace: Team_A, slo-ttft: 1, slo-tpot: 1}\n"},
			wantErr: []string{`key "p"`, `data[0].namespace: "Team_A" is not a valid namespace name`},
		},
		"duplicate entry in a class": {
			data:    map[string]string{"p": "name: p\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n- {model: m, slo-ttft: 2, slo-tpot: 2}\n"},
			wantErr: []string{`key "p"`, `data[1]: model "m" (any namespace) is already listed at data[0]`},
		},
		"model in two classes": {
			data: map[string]string{
				"a.yaml": "name: gold\ndata:\n- {model: m, namespace: ns, slo-ttft: 1, slo-tpot: 1}\n",
				"b.yaml": "name: silver\ndata:\n- {model: m, namespace: ns, slo-ttft: 2, slo-tpot: 2}\n",
			},
			wantErr: []string{`key "b.yaml"`, `model "m" in namespace "ns" is in both class "gold" (key "a.yaml") and class "silver" (key "b.yaml")`},
		},
		"every bad key is named": {
			data:    map[string]string{"a": "name: a\npriority: -1\n", "b": "name: b\n", "c": "nme: c\n"},
			wantErr: []string{`key "a"`, `key "c"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseServiceClasses(tc.data)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got.Classes); diff != "" {
				t.Errorf("ParseServiceClasses() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewServiceClasses(t *testing.T) {
	tests := map[string]struct {
		classes []ServiceClass
		wantErr []string
	}{
		"valid": {
			classes: []ServiceClass{
				{Name: "a", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 1, ITL: 1}}},
				{Name: "b", Priority: 2, SLOs: map[ModelRef]SLO{{Namespace: "ns", ModelID: "m"}: {TTFT: 1, ITL: 1}}},
			},
		},
		"no name":        {classes: []ServiceClass{{}}, wantErr: []string{"without a name"}},
		"duplicate name": {classes: []ServiceClass{{Name: "a"}, {Name: "a"}}, wantErr: []string{`"a" defined twice`}},
		"negative priority": {
			classes: []ServiceClass{{Name: "a", Priority: -1}},
			wantErr: []string{"priority must be >= 0"},
		},
		"zero SLO": {
			classes: []ServiceClass{{Name: "a", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 1}}}},
			wantErr: []string{`service class "a"`, "finite and > 0"},
		},
		"empty model": {
			classes: []ServiceClass{{Name: "a", SLOs: map[ModelRef]SLO{{}: {TTFT: 1, ITL: 1}}}},
			wantErr: []string{"modelID: required"},
		},
		"model in two classes": {
			classes: []ServiceClass{
				{Name: "a", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 1, ITL: 1}}},
				{Name: "b", SLOs: map[ModelRef]SLO{{ModelID: "m"}: {TTFT: 1, ITL: 1}}},
			},
			wantErr: []string{`in both service class "a" and "b"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := NewServiceClasses(tc.classes...)
			checkErr(t, err, tc.wantErr)
			if err == nil && got.Len() != len(tc.classes) {
				t.Errorf("Len() = %d, want %d", got.Len(), len(tc.classes))
			}
		})
	}
}
