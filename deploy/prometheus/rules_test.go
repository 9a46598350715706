package prometheus_test

import (
	"errors"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wasmcloud-host/wasmcloud-host/metrics"
)

const rulesFile = "wasmcloud-host.rules.yml"

// exported is every metric family the daemon's registry holds, once every vector has a series.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.ActorStarted("M", nil)
	m.Invocation("M", "Op", 0, nil)
	m.Invocation("M", "Op", 0, errors.New("trap"))
	m.SetInstances("M", 1)
	m.ReplayCache(func() (int, int) { return 0, 1 })
	m.SetHostInfo("N", "default", "dev")
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"up": true} // Prometheus's own per-target metric
	for _, f := range families {
		names[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	return names
}

// TestRules parses the rules with Prometheus's parser, and checks each alert names only exported metrics,
// with label matchers and groupings on labels those metrics have.
func TestRules(t *testing.T) {
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.Parse(b, false, model.LegacyValidation, p, slog.New(slog.DiscardHandler))
	for _, e := range errs {
		t.Error(e)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	names := exported(t)
	var alerts []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("rule %q is not an alert", r.Record)
				continue
			}
			alerts = append(alerts, r.Alert)
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				if !names[vs.Name] {
					t.Errorf("%s: %s is not a metric the host exports", r.Alert, vs.Name)
				}
				return nil
			})
			if r.Labels["severity"] == "" {
				t.Errorf("%s has no severity label", r.Alert)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s lacks a summary or description", r.Alert)
			}
		}
	}
	want := []string{"WasmcloudHostDown", "WasmcloudRefusalsSpike", "WasmcloudNATSAuthFailures", "WasmcloudActorErrorRate"}
	if !slices.Equal(alerts, want) {
		t.Errorf("alerts %q, want %q", alerts, want)
	}
	// The guide's eight metrics all appear in some alert or are exported for dashboards.
	for _, m := range []string{metrics.NameActorStarts, metrics.NameActorInvocations, metrics.NameActorErrors,
		metrics.NameLinkEstablished, metrics.NameLinkRemoved, metrics.NameHostUp, metrics.NameNATSAuthFailures,
		metrics.NamePolicyDenials} {
		if !names[m] {
			t.Errorf("guide metric %s is not exported", m)
		}
	}
	if seed := regexp.MustCompile(`\bS[ACNOUMV][A-Z2-7]{56}\b`); seed.Match(b) || strings.Contains(string(b), "password") {
		t.Error("the rules file holds something secret-looking")
	}
}
