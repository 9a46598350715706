package integration

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/sandbox"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Bounds of the waits below. They are generous: a host compiles its actors before it is ready, and the
// machine running the tests may be busy.
const (
	readyTimeout = 90 * time.Second // start to readiness line, or start to exit for a refused start
	stopTimeout  = 10 * time.Second // SIGTERM to exit
	cliTimeout   = 30 * time.Second // one CLI command
	pollTimeout  = 20 * time.Second // anything else polled for
)

// hostBin is the wasmcloud-host binary built by TestMain; home is the HOME every process gets.
var hostBin, home string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "wasmcloud-host-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	hostBin = filepath.Join(dir, "wasmcloud-host")
	home = filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The same toolchain as the test binary, so the daemon under test is built by the Go version under test.
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", hostBin, "./cmd/wasmcloud-host")
	build.Dir = testutil.Root()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wasmcloud-host: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// secrets holds every seed the tests generated, so that every process's output can be searched for them.
var secrets struct {
	mu    sync.Mutex
	seeds []string // guarded by mu
}

func rememberSecret(seed string) {
	secrets.mu.Lock()
	defer secrets.mu.Unlock()
	secrets.seeds = append(secrets.seeds, seed)
}

// checkNoSecrets fails the test if output holds a generated seed, or the part of one after its type
// prefix (what remains if a printer cut the seed short), in any letter case.
func checkNoSecrets(t testing.TB, what, output string) {
	t.Helper()
	secrets.mu.Lock()
	seeds := slices.Clone(secrets.seeds)
	secrets.mu.Unlock()
	upper := strings.ToUpper(output) // a seed is as secret in lower case
	for _, s := range seeds {
		if strings.Contains(upper, strings.ToUpper(s[2:])) {
			t.Errorf("%s shows a seed of type %s", what, s[:2])
		}
	}
}

// key is a generated nkey whose seed was remembered as a secret.
type key struct {
	pub, seed string
}

func newKey(t testing.TB, prefix nkeys.PrefixByte) key {
	t.Helper()
	kp, err := nkeys.CreatePair(prefix)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	rememberSecret(string(seed))
	return key{pub: pub, seed: string(seed)}
}

// writeSecret writes content to a new 0600 file in a fresh directory and returns its path.
func writeSecret(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cluster is a cluster key with its seed in a file, as WASMCLOUD_CLUSTER_SEED_FILE wants it.
type cluster struct {
	key
	file string
}

func newCluster(t testing.TB) cluster {
	t.Helper()
	k := newKey(t, nkeys.PrefixByteCluster)
	return cluster{key: k, file: writeSecret(t, "cluster.nk", []byte(k.seed+"\n"))}
}

// runNATS starts an in-process nats-server on a free loopback port with JetStream (unless opts says
// otherwise) and stops it when the test ends, after the hosts, whose cleanups were registered later.
func runNATS(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	if opts == nil {
		opts = &server.Options{JetStream: true}
	}
	opts.Host = "127.0.0.1"
	opts.Port = -1
	opts.NoSigs = true
	opts.NoLog = true
	if opts.JetStream && opts.StoreDir == "" {
		opts.StoreDir = t.TempDir()
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// env is the WASMCLOUD_* environment of a process. Nothing else from the test's environment reaches it
// but PATH and TMPDIR; HOME is a directory of the test run.
type env map[string]string

// with returns a copy of e with the pairs name, value, ... set; an empty value removes the variable.
func (e env) with(kv ...string) env {
	out := maps.Clone(e)
	if out == nil {
		out = env{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func (e env) list() []string {
	l := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	if d := os.Getenv("TMPDIR"); d != "" {
		l = append(l, "TMPDIR="+d)
	}
	for _, k := range slices.Sorted(maps.Keys(e)) {
		l = append(l, k+"="+e[k])
	}
	return l
}

// latticeEnv is the environment of a host (or CLI) on srv that holds c's seed: both connections to srv,
// no embedded server, file loading allowed, and a state directory of its own.
func latticeEnv(t testing.TB, srv *server.Server, c cluster) env {
	t.Helper()
	port := strconv.Itoa(srv.Addr().(*net.TCPAddr).Port)
	e := env{
		"WASMCLOUD_RPC_HOST":          "127.0.0.1",
		"WASMCLOUD_RPC_PORT":          port,
		"WASMCLOUD_CTL_HOST":          "127.0.0.1",
		"WASMCLOUD_CTL_PORT":          port,
		"WASMCLOUD_NATS_EMBEDDED":     "false",
		"WASMCLOUD_STATE_DIR":         t.TempDir(),
		"WASMCLOUD_CLUSTER_SEED_FILE": c.file,
		"WASMCLOUD_ALLOW_FILE_LOAD":   "true",
		"WASMCLOUD_LOG_LEVEL":         "info",
	}
	if sandbox.ABI() == 0 {
		e["WASMCLOUD_PROVIDER_SANDBOX"] = "false" // providers still run on a kernel without Landlock
	}
	return e
}

// hostProc is one running `wasmcloud-host` daemon.
type hostProc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *testutil.SyncBuffer
	done           chan struct{} // closed when the process has exited
	ready          readyLine
}

// readyLine is what the readiness line reports.
type readyLine struct {
	HostID, ClusterKey, Lattice, NATSURL string
}

var readyPattern = regexp.MustCompile(`^wasmcloud-host ready: host_id=(N[A-Z2-7]{55}) cluster_key=(C[A-Z2-7]{55}) lattice=(\S+) nats_url=(\S+)$`)

// launch starts the binary with args and e, collecting its output.
func launch(t testing.TB, name string, e env, args ...string) *hostProc {
	t.Helper()
	p := &hostProc{name: name, stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(hostBin, args...)
	p.cmd.Env = e.list()
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	// Registered before any cleanup of the caller's, so it runs after them: a daemon has been stopped
	// gracefully by then, and only a process the test forgot is still running.
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s was still running at the end of the test; killed", name)
		}
	})
	return p
}

// startHost starts a daemon and waits for its readiness line. When the test ends the host is stopped
// with SIGTERM and must exit 0, log `msg=stopped` and have shown no seed.
func startHost(t testing.TB, name string, e env) *hostProc {
	t.Helper()
	p := launch(t, name, e)
	t.Cleanup(func() {
		if !p.exited() {
			if code := p.stop(t); code != 0 {
				t.Errorf("%s: exit status %d after SIGTERM, want 0", name, code)
			}
			if !strings.Contains(p.stderr.String(), "msg=stopped") {
				t.Errorf("%s: stderr has no msg=stopped after SIGTERM", name)
			}
		}
		p.checkOutput(t)
	})
	var line string
	require.EventuallyNoError(t, readyTimeout, func() error {
		var ok bool
		if line, ok = p.readyLine(); ok {
			return nil
		}
		if p.exited() {
			t.Fatalf("%s exited with status %d before it was ready; stderr:\n%s", name, p.cmd.ProcessState.ExitCode(), p.stderr)
		}
		return notReady{p}
	}, "%s to be ready", name)
	m := readyPattern.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("%s: malformed readiness line %q", name, line)
	}
	p.ready = readyLine{HostID: m[1], ClusterKey: m[2], Lattice: m[3], NATSURL: m[4]}
	return p
}

// notReady is the reason a host is not ready yet: what it wrote to stderr so far, read when the wait fails.
type notReady struct{ p *hostProc }

func (e notReady) Error() string { return "stderr:\n" + e.p.stderr.String() }

// readyLine returns the first complete stdout line.
func (p *hostProc) readyLine() (string, bool) {
	line, _, ok := strings.Cut(p.stdout.String(), "\n")
	return line, ok
}

func (p *hostProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and returns the exit status; the test fails if the process is still running after
// stopTimeout (it is then killed).
func (p *hostProc) stop(t testing.TB) int {
	t.Helper()
	if !p.exited() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("%s: SIGTERM: %v", p.name, err)
		}
	}
	return p.wait(t, stopTimeout)
}

// wait waits for the process to exit and returns its exit status.
func (p *hostProc) wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s still running %s later; killed. stderr:\n%s", p.name, timeout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// checkOutput fails the test if the process showed a seed, and logs its output when the test failed.
func (p *hostProc) checkOutput(t testing.TB) {
	t.Helper()
	checkNoSecrets(t, p.name+" stdout", p.stdout.String())
	checkNoSecrets(t, p.name+" stderr", p.stderr.String())
	if t.Failed() {
		t.Logf("%s stdout:\n%s\n%s stderr:\n%s", p.name, p.stdout, p.name, p.stderr)
	}
}

// logLine waits until a line of the host's stderr contains every part, and returns it.
func (p *hostProc) logLine(t testing.TB, parts ...string) string {
	t.Helper()
	var found string
	require.Eventually(t, pollTimeout, func() bool {
		found = findLine(p.stderr.String(), parts...)
		return found != ""
	}, p.name+" log line with "+strings.Join(parts, " "))

	return found
}

// findLine returns the first line of s that contains every part, or "".
func findLine(s string, parts ...string) string {
	for line := range strings.Lines(s) {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(line, part)
		}
		if ok {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}

// startFails runs a daemon that must refuse to start: it returns the stderr of a process that exited 1
// without a readiness line.
func startFails(t testing.TB, name string, e env) string {
	t.Helper()
	p := launch(t, name, e)
	code := p.wait(t, readyTimeout)
	p.checkOutput(t)
	if code != 1 {
		t.Fatalf("%s: exit status %d, want 1; stderr:\n%s", name, code, p.stderr)
	}
	if out := p.stdout.String(); out != "" {
		t.Fatalf("%s: stdout %q, want nothing (no readiness line)", name, out)
	}
	return p.stderr.String()
}

// result is the outcome of one CLI command.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs a wasmcloud-host command to completion.
func cli(t testing.TB, e env, args ...string) result {
	t.Helper()
	p := launch(t, "wasmcloud-host "+strings.Join(args, " "), e, args...)
	code := p.wait(t, cliTimeout)
	p.checkOutput(t)
	return result{stdout: p.stdout.String(), stderr: p.stderr.String(), code: code}
}

// callOK runs `call` and returns its one stdout line; the call must succeed.
func callOK(t testing.TB, e env, target, op, data string) string {
	t.Helper()
	r := cli(t, e, "call", target, op, "--data", data)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("call %s %s: exit status %d, stderr %q", target, op, r.code, r.stderr)
	}
	return oneLine(t, "call stdout", r.stdout)
}

// callFails runs `call` and returns its one stderr line; the call must exit 1 and print nothing on stdout.
func callFails(t testing.TB, e env, target, op, data string) string {
	t.Helper()
	r := cli(t, e, "call", target, op, "--data", data)
	if r.code != 1 || r.stdout != "" {
		t.Fatalf("call %s %s: exit status %d, stdout %q, stderr %q; want status 1 and no output", target, op, r.code, r.stdout, r.stderr)
	}
	return oneLine(t, "call stderr", r.stderr)
}

// oneLine checks that s is exactly one newline-terminated line and returns it without the newline.
func oneLine(t testing.TB, what, s string) string {
	t.Helper()
	line, ok := strings.CutSuffix(s, "\n")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("%s = %q, want exactly one line", what, s)
	}
	return line
}

var moduleKeyPattern = regexp.MustCompile(`module (M[A-Z2-7]{55})`)

// signActor signs wasm the way a user does, with `wasmcloud-host claims sign` and a fresh account seed
// in a file, and returns the signed module's path and its module key.
func signActor(t testing.TB, wasm []byte, name, alias string) (path, moduleKey string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, name+".unsigned.wasm")
	if err := os.WriteFile(in, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	account := newKey(t, nkeys.PrefixByteAccount)
	path = filepath.Join(dir, name+".wasm")
	// Without --subject, claims sign generates the module key and prints only its public key.
	args := []string{"claims", "sign", in, "-o", path, "--name", name,
		"--issuer", "@" + writeSecret(t, "account.nk", []byte(account.seed))}
	if alias != "" {
		args = append(args, "--call-alias", alias)
	}
	r := cli(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("claims sign %s: exit status %d, stderr %q", name, r.code, r.stderr)
	}
	m := moduleKeyPattern.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("claims sign %s printed %q, want the module key", name, r.stdout)
	}
	return path, m[1]
}

// guest builds an example actor (once per test process) and signs it.
func guest(t testing.TB, pkg, alias string) (path, moduleKey string) {
	t.Helper()
	return signActor(t, testutil.BuildGuest(t, pkg), filepath.Base(pkg), alias)
}

// echoKey is the module key of testdata/actors/echo.wasm.
const echoKey = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"

// echoRequest is an HttpServer.HandleRequest payload, and echoReply what `call` prints for echo's answer.
const (
	echoRequest = `{"method":"GET","path":"/","queryString":"","header":{},"body":"hello"}`
	echoReply   = `{"body":"{\"body\":[104,101,108,108,111],\"method\":\"GET\",\"path\":\"/\",\"query_string\":\"\"}","header":{},"statusCode":200}`
)

func contains(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(s, part) {
			t.Fatalf("%s = %q, want it to contain %q", what, s, part)
		}
	}
}

// packMap encodes a map of strings as MessagePack, as actors expect their payloads.
func packMap(t testing.TB, kv ...string) []byte {
	t.Helper()
	b := msgp.AppendMapHeader(nil, uint32(len(kv)/2))
	for i := 0; i+1 < len(kv); i += 2 {
		b = msgp.AppendString(b, kv[i])
		b = msgp.AppendString(b, kv[i+1])
	}
	return b
}

// unpackMap decodes an actor's MessagePack map reply.
func unpackMap(t testing.TB, b []byte) map[string]any {
	t.Helper()
	v, rest, err := msgp.ReadIntfBytes(b)
	if err != nil || len(rest) > 0 {
		t.Fatalf("reply %x is not one MessagePack value: %v", b, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("reply is a %T, want a map", v)
	}
	return m
}
