package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const header = "instance_type,gpu_type,gpus,vcpus,memory_gb,region,on_demand_usd,spot_usd,source,as_of\n"

// priced sets up platforms alpha, beta and gamma as copies of the test
// plugin, each with its own fixture catalog, run through dev overrides.
func priced(t *testing.T) *env {
	e := newEnv(t)
	catalogs := filepath.Join(e.root, "catalogs")
	os.MkdirAll(catalogs, 0o755)
	files := map[string]string{
		// GPU billed apart from the machine: 0.20 + 2 × 0.35 = 0.90.
		"alpha": header + "a.cpu,,0,8,32,r1,0.20,,fixture,2026-10-01\n,NVIDIA_TESLA_T4,1,,,r1,0.35,,fixture,2026-10-01\n",
		// GPUs included in the instance: 1.20.
		"beta": header + "b.gpu2,T4,2,8,32,r1,1.20,,fixture,2026-10-01\nb.cpu,,0,4,16,r1,0.10,,fixture,2026-10-01\n",
		// No T4 at any price: unknown, never first.
		"gamma": header + "g.cpu,,0,4,16,r1,0.01,,fixture,2026-10-01\n",
	}
	var overrides []string
	for name, body := range files {
		os.WriteFile(filepath.Join(catalogs, name+".csv"), []byte(body), 0o644)
		bin := filepath.Join(e.root, "bin", "neural-plugin-"+name)
		os.MkdirAll(filepath.Dir(bin), 0o755)
		b, _ := os.ReadFile(testPlugin())
		os.WriteFile(bin, b, 0o755)
		overrides = append(overrides, name+"="+bin)
	}
	e.extra = append(e.extra, "TESTPLUGIN_PRICES="+catalogs, "NEURAL_DEV_OVERRIDES="+strings.Join(overrides, ","),
		"TESTPLUGIN_CALLS="+filepath.Join(e.root, "calls"))
	return e
}

type offer struct {
	Platform   string
	Known      bool
	USDPerHour float64  `json:"usd_per_hour"`
	TotalUSD   *float64 `json:"total_usd"`
	Detail     string
}

func TestCostCompare(t *testing.T) {
	e := priced(t)
	spec := e.writeSpec("kind: command\ncommand: [train]\nresources:\n  gpu_type: T4\n  gpus: 2\n  max_runtime: 2h\n", map[string]string{})
	var got struct{ Offers []offer }
	e.json(&got, "cost", "compare", spec, "--platforms", "gamma,beta,alpha")
	order := []string{}
	for _, o := range got.Offers {
		order = append(order, o.Platform)
	}
	if strings.Join(order, ",") != "alpha,beta,gamma" || !near(got.Offers[0].USDPerHour, 0.90) || !near(*got.Offers[0].TotalUSD, 1.80) ||
		!near(got.Offers[1].USDPerHour, 1.20) || got.Offers[2].Known {
		t.Fatalf("offers: %+v", got.Offers)
	}
	// A user override, kept in the config dir, can change the order.
	dir := filepath.Join(e.root, "config", "neural", "prices")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "beta.csv"), []byte(header+"b.gpu2,T4,2,8,32,r1,0.50,,negotiated,2026-11-01\n"), 0o644)
	e.json(&got, "cost", "compare", spec, "--platforms", "gamma,beta,alpha")
	if got.Offers[0].Platform != "beta" || !near(got.Offers[0].USDPerHour, 0.50) {
		t.Errorf("with override: %+v", got.Offers)
	}
}

func TestCostEstimateAndMaxCost(t *testing.T) {
	e := priced(t)
	spec := e.writeSpec("kind: command\ncommand: [train]\nresources:\n  instance_type: b.gpu2\n  gpu_type: T4\n  gpus: 2\n  max_runtime: 3h\n", map[string]string{})
	var est struct {
		Known    bool
		TotalUSD float64 `json:"total_usd"`
		Hours    float64
	}
	e.json(&est, "cost", "estimate", spec, "-p", "beta")
	if !est.Known || est.Hours != 3 || !near(est.TotalUSD, 3.60) {
		t.Errorf("estimate: %+v", est)
	}
	e.json(&est, "cost", "estimate", spec, "-p", "beta", "--hours", "10")
	if !near(est.TotalUSD, 12) {
		t.Errorf("estimate for 10h: %+v", est)
	}
	calls := filepath.Join(e.root, "calls")
	r := e.run("job", "submit", spec, "-p", "beta", "--max-cost", "3.50")
	if r.code != 2 || !strings.Contains(r.stderr, "may cost up to $3.60") || !strings.Contains(r.stderr, "max-cost") {
		t.Fatalf("over budget: exit %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(calls); len(b) != 0 {
		t.Fatalf("the platform saw a submit despite --max-cost: %s", b)
	}
	// An unknown price cannot be held to a budget either.
	unpriced := e.writeSpec("kind: command\ncommand: [train]\nresources:\n  instance_type: mystery\n  max_runtime: 1h\n", map[string]string{})
	if r := e.run("job", "submit", unpriced, "-p", "beta", "--max-cost", "100"); r.code != 2 || !strings.Contains(r.stderr, "unknown") {
		t.Errorf("unknown price: exit %d\n%s", r.code, r.stderr)
	}
	e.ok("job", "submit", spec, "-p", "beta", "--max-cost", "3.60")
	if b, _ := os.ReadFile(calls); strings.Count(string(b), "Submit") != 1 {
		t.Errorf("calls: %q", b)
	}
}

func TestPlanShowsPriceAndBound(t *testing.T) {
	e := priced(t)
	spec := e.writeSpec("kind: command\ncommand: [train]\nresources:\n  instance_type: a.cpu\n  max_runtime: 90m\n  nodes: 2\n", map[string]string{})
	out := e.ok("job", "plan", spec, "-p", "alpha")
	// The plan prices both nodes: 2 × $0.20.
	for _, want := range []string{"CreateJob", "a.cpu", "$0.4000/h (estimate, fixture, as of 2026-10-01)", "$0.60 for 1h30m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestSchemaAndFlagPrecedence(t *testing.T) {
	e := newEnv(t)
	if out := e.ok("job", "schema"); !strings.Contains(out, `"max_runtime"`) || !strings.Contains(out, `"additionalProperties": false`) {
		t.Errorf("schema:\n%.300s", out)
	}
	spec := e.writeSpec("kind: python\nentrypoint: a.py\nenv: {SEED: \"1\", KEEP: \"yes\"}\nresources:\n  max_runtime: 1h\n", map[string]string{"a.py": ""})
	var plan struct {
		Requests []struct{ Body string }
	}
	e.json(&plan, "job", "plan", spec, "-p", "local", "-e", "SEED=9", "--max-runtime", "5m")
	body := plan.Requests[0].Body
	for _, want := range []string{`"SEED": "9"`, `"KEEP": "yes"`, `"max_runtime": "5m0s"`} {
		if !strings.Contains(body, want) {
			t.Errorf("flags did not override the file (%s):\n%s", want, body)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
