package systemd_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

const (
	unitFile   = "wasmcloud-host.service"
	envExample = "env.example"
)

// entry is one KEY=value assignment of a unit file.
type entry struct {
	key, value string
	line       int
}

// unit is a parsed unit file: the assignments of each section, in file order.
type unit map[string][]entry

// values returns every value assigned to key in section, in order.
func (u unit) values(section, key string) []string {
	var out []string
	for _, e := range u[section] {
		if e.key == key {
			out = append(out, e.value)
		}
	}
	return out
}

// parseUnit reads a unit file the way systemd does for the purposes of these tests: sections in
// brackets, KEY=value lines with white space trimmed around both, lines starting with # or ; as
// comments, and a trailing backslash continuing a line.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read unit: %v", err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		start := n
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "", line[0] == '#', line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				t.Fatalf("%s:%d: malformed section header %q", path, start, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				t.Errorf("%s:%d: section [%s] appears twice", path, start, section)
			}
			u[section] = nil
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s:%d: not a KEY=value line: %q", path, start, line)
			}
			if section == "" {
				t.Fatalf("%s:%d: assignment before the first section", path, start)
			}
			u[section] = append(u[section], entry{strings.TrimSpace(key), strings.TrimSpace(value), start})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read unit: %v", err)
	}
	return u
}

// single returns the one value of key in section, failing the test when it is absent or assigned
// more than once.
func single(t *testing.T, u unit, section, key string) string {
	t.Helper()
	v := u.values(section, key)
	if len(v) != 1 {
		t.Fatalf("[%s] %s= is assigned %d times (%q), want once", section, key, len(v), v)
	}
	return v[0]
}

// environment splits the Environment= lines of the [Service] section into their assignments.
// Values may be double-quoted; the unit uses no other quoting or escapes.
func environment(t *testing.T, u unit) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range u.values("Service", "Environment") {
		for _, word := range splitQuoted(line) {
			k, v, ok := strings.Cut(word, "=")
			if !ok || k == "" {
				t.Fatalf("Environment=%s: %q is not NAME=value", line, word)
			}
			if _, dup := env[k]; dup {
				t.Errorf("Environment= sets %s twice", k)
			}
			env[k] = v
		}
	}
	return env
}

// splitQuoted splits s at spaces outside double quotes and drops the quotes.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, started := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, started = !quoted, true
		case r == ' ' && !quoted:
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteRune(r)
			started = true
		}
	}
	if started {
		out = append(out, cur.String())
	}
	return out
}

func TestUnitDirectives(t *testing.T) {
	u := parseUnit(t, unitFile)
	for _, tc := range []struct {
		name, section, key, want string
	}{
		{"systemd waits for READY=1", "Service", "Type", "notify"},
		{"binary path", "Service", "ExecStart", "/usr/local/bin/wasmcloud-host"},
		{"restarted after a crash", "Service", "Restart", "on-failure"},
		{"transient user", "Service", "DynamicUser", "yes"},
		{"state directory for $STATE_DIRECTORY", "Service", "StateDirectory", "wasmcloud-host"},
		{"optional settings file", "Service", "EnvironmentFile", "-/etc/wasmcloud-host/env"},
		{"cluster seed credential", "Service", "LoadCredential", "cluster-seed:/etc/wasmcloud-host/cluster.seed"},
		{"no privilege escalation", "Service", "NoNewPrivileges", "yes"},
		{"no capabilities", "Service", "CapabilityBoundingSet", ""},
		{"read-only system", "Service", "ProtectSystem", "strict"},
		{"no home directories", "Service", "ProtectHome", "yes"},
		{"private /tmp", "Service", "PrivateTmp", "yes"},
		{"no devices", "Service", "PrivateDevices", "yes"},
		{"personality locked", "Service", "LockPersonality", "yes"},
		{"files private to the service", "Service", "UMask", "0077"},
		{"started at boot", "Install", "WantedBy", "multi-user.target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := single(t, u, tc.section, tc.key); got != tc.want {
				t.Errorf("[%s] %s=%s, want %s=%s", tc.section, tc.key, got, tc.key, tc.want)
			}
		})
	}
}

// TestNoMemoryDenyWriteExecute guards the one hardening directive the host cannot have: wazero's
// compiler makes the machine code it generates executable, which MemoryDenyWriteExecute= forbids.
func TestNoMemoryDenyWriteExecute(t *testing.T) {
	for section, entries := range parseUnit(t, unitFile) {
		for _, e := range entries {
			if strings.EqualFold(e.key, "MemoryDenyWriteExecute") {
				t.Errorf("%s:%d: [%s] sets %s=%s; wazero's compiler needs executable memory",
					unitFile, e.line, section, e.key, e.value)
			}
		}
	}
}

func TestEnvironment(t *testing.T) {
	u := parseUnit(t, unitFile)
	env := environment(t, u)
	for _, tc := range []struct{ name, want string }{
		{"WASMCLOUD_CLUSTER_SEED_FILE", "%d/cluster-seed"},
		{"WASMCLOUD_STRUCTURED_LOGGING_ENABLED", "true"},
	} {
		if got, ok := env[tc.name]; !ok || got != tc.want {
			t.Errorf("Environment %s=%q (set: %v), want %q", tc.name, got, ok, tc.want)
		}
	}
	for _, name := range []string{"WASMCLOUD_CLUSTER_SEED", "WASMCLOUD_HOST_SEED", "WASMCLOUD_RPC_SEED", "WASMCLOUD_CTL_SEED"} {
		if _, ok := env[name]; ok {
			t.Errorf("the unit sets %s: secrets belong in credentials, not in the unit", name)
		}
	}

	// The credential the unit loads is the file the host is told to read.
	id, _, _ := strings.Cut(single(t, u, "Service", "LoadCredential"), ":")
	if want := "%d/" + id; env["WASMCLOUD_CLUSTER_SEED_FILE"] != want {
		t.Errorf("WASMCLOUD_CLUSTER_SEED_FILE=%s, but the credential is %q (want %s)", env["WASMCLOUD_CLUSTER_SEED_FILE"], id, want)
	}
}

func TestSandbox(t *testing.T) {
	u := parseUnit(t, unitFile)

	families := strings.Fields(single(t, u, "Service", "RestrictAddressFamilies"))
	slices.Sort(families)
	if want := []string{"AF_INET", "AF_INET6", "AF_UNIX"}; !slices.Equal(families, want) {
		t.Errorf("RestrictAddressFamilies=%v, want %v (AF_UNIX for the sd_notify socket)", families, want)
	}

	filters := u.values("Service", "SystemCallFilter")
	if !slices.Contains(filters, "@system-service") {
		t.Errorf("SystemCallFilter=%q does not allow-list @system-service", filters)
	}
	for _, f := range filters {
		// Landlock, which confines provider processes, is in no group but @known before systemd 256.
		if !strings.HasPrefix(f, "~") && f != "@system-service" && f != "landlock_create_ruleset landlock_add_rule landlock_restrict_self" {
			t.Errorf("SystemCallFilter=%s widens the allow-list beyond @system-service and Landlock", f)
		}
	}

	// The host bounds its own shutdown drain to 30 s; systemd must wait longer before SIGKILL.
	stop, err := time.ParseDuration(single(t, u, "Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if stop <= 35*time.Second {
		t.Errorf("TimeoutStopSec=%s, want more than the host's 30 s drain and 5 s grace", stop)
	}

	nofile, err := strconv.Atoi(single(t, u, "Service", "LimitNOFILE"))
	if err != nil || nofile < 65536 {
		t.Errorf("LimitNOFILE=%d (%v), want at least 65536", nofile, err)
	}
}

// TestNoDuplicateDirectives catches a directive set twice by mistake: for a single-valued one,
// systemd silently keeps the last.
func TestNoDuplicateDirectives(t *testing.T) {
	lists := map[string]bool{
		"Environment": true, "LoadCredential": true, "SystemCallFilter": true,
		"Wants": true, "After": true,
	}
	for section, entries := range parseUnit(t, unitFile) {
		seen := map[string]int{}
		for _, e := range entries {
			if first, dup := seen[e.key]; dup && !lists[e.key] {
				t.Errorf("[%s] %s= is set on line %d and again on line %d", section, e.key, first, e.line)
			}
			seen[e.key] = e.line
		}
	}
}

// TestSystemdAnalyzeVerify asks systemd itself whether it accepts the unit. systemd-analyze refuses
// an ExecStart= binary that does not exist, so it checks a copy that runs the test binary instead.
func TestSystemdAnalyzeVerify(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		skipOutsideCI(t, "systemd-analyze is not on PATH")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test binary: %v", err)
	}
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/wasmcloud-host$`)
	if !re.Match(b) {
		t.Fatal("the unit has no ExecStart=/usr/local/bin/wasmcloud-host line to point at the test binary")
	}
	copyPath := filepath.Join(t.TempDir(), unitFile)
	if err := os.WriteFile(copyPath, re.ReplaceAll(b, []byte("ExecStart="+self)), 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(tool, "verify", copyPath).CombinedOutput()
	var ours []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, unitFile) {
			ours = append(ours, line)
		}
	}
	if len(ours) > 0 {
		t.Fatalf("systemd-analyze verify complains about the unit:\n%s", strings.Join(ours, "\n"))
	}
	if err != nil {
		// Nothing about our unit, but the tool failed: it cannot work in this environment (no
		// systemd state to load, for example).
		skipOutsideCI(t, fmt.Sprintf("systemd-analyze verify failed without naming the unit (%v):\n%s", err, out))
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Logf("systemd-analyze verify:\n%s", s)
	}
}

// ciVariable is set by .ci/run, which installs systemd-analyze: under CI the verification never skips.
const ciVariable = "WASMCLOUD_HOST_CI"

// skipOutsideCI skips the test on a developer's machine without the tool, and fails it under .ci/run.
func skipOutsideCI(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(ciVariable) != "" {
		t.Fatalf("%s (%s is set: .ci/run must provide systemd-analyze)", why, ciVariable)
	}
	t.Skip(why)
}

// TestWatchdog checks the watchdog settings the host relies on: WatchdogSec= is set, long enough for the
// host's checks (it refuses less than 3 s), and shorter than the stop timeout, so a host that hangs while
// stopping is not also waited for by the watchdog.
func TestWatchdog(t *testing.T) {
	u := parseUnit(t, unitFile)
	d := parseSeconds(t, single(t, u, "Service", "WatchdogSec"))
	if d < 3*time.Second || d > 5*time.Minute {
		t.Errorf("WatchdogSec=%s, want between 3s and 5m", d)
	}
	if got := single(t, u, "Service", "Restart"); got != "on-failure" && got != "always" {
		t.Errorf("Restart=%s: a watchdog timeout or a failure exit must restart the host", got)
	}
	if v := u.values("Service", "ExecReload"); len(v) > 0 && !strings.Contains(v[0], "HUP") {
		t.Errorf("ExecReload=%s: the host reloads on SIGHUP", v[0])
	}
}

// parseSeconds reads a systemd time span made of whole seconds or minutes ("30s", "2min", "45").
func parseSeconds(t *testing.T, s string) time.Duration {
	t.Helper()
	s = strings.TrimSpace(s)
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{{"min", time.Minute}, {"s", time.Second}, {"", time.Second}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return time.Duration(v) * u.unit
			}
		}
	}
	t.Fatalf("time span %q is not whole seconds or minutes", s)
	return 0
}

// envAssignment matches a NAME=value line of env.example, commented out or not.
var envAssignment = regexp.MustCompile(`^(#?)([A-Z][A-Z0-9_]*)=(.*)$`)

// seedLike matches anything that looks like an encoded nkey seed.
var seedLike = regexp.MustCompile(`\bS[ACNOUMV][A-Z2-7]{56}\b`)

// knownVariables returns the variables `wasmcloud-host --help` lists.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	var buf bytes.Buffer
	if err := config.Usage(&buf); err != nil {
		t.Fatalf("config.Usage: %v", err)
	}
	known := map[string]bool{}
	for _, line := range strings.Split(buf.String(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "WASMCLOUD_") {
			known[f[0]] = true
		}
	}
	if len(known) < 20 {
		t.Fatalf("config.Usage lists only %d WASMCLOUD_ variables:\n%s", len(known), buf.String())
	}
	return known
}

// TestEnvExample checks that every variable env.example mentions is one the host reads, that it
// holds no seed, and that it does not set what the unit already provides.
func TestEnvExample(t *testing.T) {
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	if m := seedLike.Find(b); m != nil {
		t.Errorf("%s contains something that looks like a seed (%.4s…)", envExample, m)
	}
	known := knownVariables(t)
	mentioned := map[string]bool{}
	for n, line := range strings.Split(string(b), "\n") {
		m := envAssignment.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		active, name := m[1] == "", m[2]
		mentioned[name] = true
		switch {
		case strings.HasPrefix(name, "HOST_"):
		case !known[name]:
			t.Errorf("%s:%d: %s is not a variable the host reads", envExample, n+1, name)
		case active && name == "WASMCLOUD_CLUSTER_SEED":
			t.Errorf("%s:%d: sets WASMCLOUD_CLUSTER_SEED, which conflicts with the unit's seed file", envExample, n+1)
		case active && name == "WASMCLOUD_CLUSTER_SEED_FILE":
			t.Errorf("%s:%d: sets WASMCLOUD_CLUSTER_SEED_FILE, which the unit sets", envExample, n+1)
		}
	}
	for _, name := range []string{
		"WASMCLOUD_LATTICE_PREFIX", "WASMCLOUD_CLUSTER_ISSUERS", "WASMCLOUD_NATS_EMBEDDED",
		"WASMCLOUD_RPC_HOST", "WASMCLOUD_RPC_PORT", "WASMCLOUD_CTL_HOST", "WASMCLOUD_CTL_PORT",
		"WASMCLOUD_JS_DOMAIN", "WASMCLOUD_LOG_LEVEL",
	} {
		if !mentioned[name] {
			t.Errorf("%s does not mention %s", envExample, name)
		}
	}
}

// TestUnitEnvironmentLoads runs the host's configuration loader on the environment the unit gives it
// (with the credential directory simulated and the active lines of env.example), as systemd would
// start it on a fresh install.
func TestUnitEnvironmentLoads(t *testing.T) {
	u := parseUnit(t, unitFile)
	credDir := t.TempDir()
	kp, err := nkey.Generate(nkey.Cluster)
	if err != nil {
		t.Fatal(err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(single(t, u, "Service", "LoadCredential"), ":")
	if err := os.WriteFile(filepath.Join(credDir, id), append(seed, '\n'), 0o400); err != nil {
		t.Fatal(err)
	}
	clear(seed)

	environ := []string{"STATE_DIRECTORY=/var/lib/wasmcloud-host", "CREDENTIALS_DIRECTORY=" + credDir}
	b, err := os.ReadFile(envExample)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") { // EnvironmentFile= overrides Environment=
		if m := envAssignment.FindStringSubmatch(line); m != nil && m[1] == "" {
			environ = append(environ, m[2]+"="+m[3])
		}
	}
	for k, v := range environment(t, u) {
		environ = append(environ, k+"="+strings.ReplaceAll(v, "%d", credDir))
	}

	cfg, err := config.LoadFrom(environ)
	if err != nil {
		t.Fatalf("the unit's environment does not load:\n%v", err)
	}
	defer cfg.Wipe()
	if !cfg.StructuredLogging {
		t.Error("StructuredLogging is false, want JSON logs under systemd")
	}
	if want := filepath.Join(credDir, id); cfg.ClusterSeedFile != want {
		t.Errorf("ClusterSeedFile = %q, want %q", cfg.ClusterSeedFile, want)
	}
	got, err := nkey.ParseSeedOf(cfg.ClusterSeed.Reveal(), nkey.Cluster)
	if err != nil {
		t.Fatalf("cluster seed read from the credential: %v", err)
	}
	defer got.Wipe()
	if got.Public() != kp.Public() {
		t.Errorf("cluster key %s, want %s", got.Public(), kp.Public())
	}
	if cfg.StateDir != "/var/lib/wasmcloud-host" {
		t.Errorf("StateDir = %q, want $STATE_DIRECTORY", cfg.StateDir)
	}
}
