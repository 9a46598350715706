package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/capability"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
	"github.com/wasmcloud-host/wasmcloud-host/internal/par"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/internal/sandbox"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
	"github.com/wasmcloud-host/wasmcloud-host/rpc"
)

// Capability provider processes: 0.x provider archives this host runs (cmd.{host}.lp), and the calls actors
// make to providers anywhere in the lattice. A provider process is outside the host's trust: it gets an
// emptied environment, a working directory of its own under the state directory, the host's RPC NATS
// credentials (as 0.x providers get them) and, instead of the cluster seed, a signing key of its own that
// the host delegates for exactly this provider instance (rpc.Delegation, lattice.Delegation).

// Timings of a provider process, as 0.x runs them where 0.x has one.
const (
	providerHealthDelay    = 5 * time.Second  // the first health check, after start (0.x)
	providerHealthInterval = 30 * time.Second // then every (0.x)
	providerShutdownGrace  = 3 * time.Second  // from the shutdown request to SIGKILL
	providerDelegationTTL  = 2 * time.Minute  // renewed every providerHealthInterval while the provider runs
	restartBackoffMin      = time.Second
	restartBackoffMax      = 30 * time.Second
	restartStable          = time.Minute // a process that ran this long restarts after restartBackoffMin again
	maxProviderLogLine     = 16 << 10
	// providerCallMargin is what a call to a provider leaves of the calling actor's time, to report a
	// provider that does not answer.
	providerCallMargin = 100 * time.Millisecond
)

// providerBinary is the file name of the provider executable in its working directory.
const providerBinary = "provider.bin"

// runningProvider is one provider instance (a provider key under a link name) this host runs.
type runningProvider struct {
	key, linkName, contract, ref, instanceID string
	claims                                   *par.Claims
	annotations                              map[string]string
	config                                   string
	dir                                      string        // its working directory, holding the binary
	signing                                  *nkey.KeyPair // its delegated key; nil when it gets the cluster seed
	cancel                                   context.CancelFunc
	done                                     chan struct{} // closed when the supervisor returned: no process left

	mu       sync.Mutex
	proc     *os.Process // the process now running, or nil; guarded by mu
	healthy  *bool       // guarded by mu
	restarts int         // guarded by mu
	stopping bool        // guarded by mu: stop was asked, do not restart
}

func (p *runningProvider) signingKey() string {
	if p.signing == nil {
		return ""
	}
	return p.signing.Public().String()
}

// providerSet holds the providers this host runs, by provider key and link name.
type providerSet struct {
	mu sync.Mutex
	m  map[string]*runningProvider // guarded by mu; a nil value reserves the name while the provider starts
}

func providerID(key, linkName string) string { return key + "/" + linkName }

// Pid returns the process id of a provider instance this host runs (0 when none runs right now).
func (h *Host) providerPid(key, linkName string) int {
	h.providers.mu.Lock()
	p := h.providers.m[providerID(key, linkName)]
	h.providers.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.Pid
}

// isProviderRef reports whether ref names a provider archive file (".par.gz" or ".par", or an explicit file
// reference).
func providerFilePath(ref string) string {
	switch {
	case strings.HasPrefix(ref, "file://"):
		return strings.TrimPrefix(ref, "file://")
	case strings.HasPrefix(ref, "/"), strings.HasPrefix(ref, "./"), strings.HasPrefix(ref, "../"),
		strings.HasSuffix(ref, ".par.gz"), strings.HasSuffix(ref, ".par"):
		return ref
	}
	return ""
}

// checkProviderRef refuses, before any work, a provider reference this host will not load.
func (h *Host) checkProviderRef(ref string) error { return h.checkRefPath(ref, providerFilePath(ref)) }

// checkProviderSandbox refuses to run providers when they are to be confined (WASMCLOUD_PROVIDER_SANDBOX, the
// default) and the kernel has no Landlock: fail closed, rather than run them with access to the host's files.
func (h *Host) checkProviderSandbox() error {
	if h.cfg.ProviderUnconfined || sandbox.ABI() > 0 {
		return nil
	}
	return fmt.Errorf("%w; set WASMCLOUD_PROVIDER_SANDBOX=false to run providers unconfined", sandbox.ErrUnsupported)
}

// prepareProviderSandbox says at start how provider processes will run: unconfined (a warning), refused (no
// Landlock), or confined, in which case the host process is made non-dumpable first (see
// sandbox.ProtectProcess: the thread that forks a provider shares its Landlock domain).
func (h *Host) prepareProviderSandbox() {
	switch {
	case h.cfg.ProviderUnconfined:
		h.log.Warn("WASMCLOUD_PROVIDER_SANDBOX is false: provider processes run unconfined, as the host's user; they can read the host's seed files, its state directory and its /proc entries")
	case sandbox.ABI() == 0:
		h.log.Warn("this kernel has no Landlock: provider archives will be refused; set WASMCLOUD_PROVIDER_SANDBOX=false to run them unconfined")
	default:
		if err := sandbox.ProtectProcess(); err != nil {
			h.log.Warn("could not make the host process non-dumpable", attrError, err)
		}
	}
}

// loadProvider fetches the archive a reference names: a file (when allowed) or an OCI artifact.
func (h *Host) loadProvider(ctx context.Context, ref string) ([]byte, error) {
	if err := h.checkProviderRef(ref); err != nil {
		return nil, err
	}
	if path := providerFilePath(ref); path != "" {
		return readActorFile(path, oci.DefaultProviderMaxSize)
	}
	return h.oci.pullProvider(ctx, ref)
}

// providerIssuers is the list of accounts whose archives may run: WASMCLOUD_PROVIDER_ISSUERS, or else
// WASMCLOUD_ACTOR_ISSUERS (empty: any).
func (h *Host) providerIssuers() []string {
	cur := h.current()
	if len(cur.ProviderIssuers) > 0 {
		return cur.ProviderIssuers
	}
	return cur.ActorIssuers
}

// checkProviderRevoked refuses a provider whose service key, or whose account, is revoked for tokens issued
// when its archive's token was.
func checkProviderRevoked(l *revoke.List, c *par.Claims) error {
	if err := l.Check("provider", c.Subject, c.IssuedAt); err != nil {
		return err
	}
	return l.Check("account", c.Issuer, c.IssuedAt)
}

// stopRevokedProviders stops every provider on this host that the revocations l refuse.
func (h *Host) stopRevokedProviders(ctx context.Context, l *revoke.List) {
	if l.Len() == 0 {
		return
	}
	h.providers.mu.Lock()
	var doomed []*runningProvider
	for id, p := range h.providers.m {
		if p != nil && checkProviderRevoked(l, p.claims) != nil {
			doomed = append(doomed, p)
			delete(h.providers.m, id)
		}
	}
	h.providers.mu.Unlock()
	for _, p := range doomed {
		h.log.Warn("stopping a revoked provider", attrProvider, p.key, "issuer", p.claims.Issuer, attrReason, checkProviderRevoked(l, p.claims))
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerShutdownGrace+10*time.Second)
		h.stopProvider(sctx, p, "revoked")
		cancel()
	}
}

// verifyProvider reads and verifies an archive for this platform: token, issuer, signature, trusted issuers,
// provider metadata, time bounds and the hash of this platform's binary. It returns the claims and the binary.
func (h *Host) verifyProvider(archive []byte) (*par.Claims, []byte, error) {
	target, err := par.NativeTarget()
	if err != nil {
		return nil, nil, err
	}
	a, err := par.ReadWith(bytes.NewReader(archive), par.ReadOptions{Keep: par.KeepTarget(target)})
	if err != nil {
		return nil, nil, err
	}
	issuers := h.providerIssuers()
	claims, err := par.Verify(a, target, par.VerifyOptions{Skew: h.cfg.ClockSkew, TrustedIssuers: issuers})
	if err != nil {
		if errors.Is(err, par.ErrUntrustedIssuer) {
			return nil, nil, fmt.Errorf("%w: %w", ErrUntrustedProviderIssuer, err)
		}
		return nil, nil, err
	}
	if capability.IsBuiltin(claims.Subject) {
		return nil, nil, fmt.Errorf("%w: %s", ErrBuiltinProviderKey, claims.Subject)
	}
	if err := checkProviderRevoked(h.revoked.merged.Load(), claims); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrRevoked, err)
	}
	bin, ok := a.Binary(target)
	if !ok {
		return nil, nil, fmt.Errorf("host: provider archive: no binary for %s", target)
	}
	return claims, bin, nil
}

// StartProvider verifies the provider archive ref names and runs its binary for this platform under the
// link name (DefaultLinkName when empty). Nothing runs unless the archive's token and the binary's hash
// check out, its issuer is trusted and the policy service allows it.
func (h *Host) StartProvider(ctx context.Context, ref, linkName string, annotations map[string]string, config string) (*par.Claims, error) {
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	failed := func(err error) (*par.Claims, error) {
		public := err
		if providerFilePath(ref) != "" && !errors.Is(err, ErrFileLoadNotAllowed) && !errors.Is(err, sandbox.ErrUnsupported) {
			public = ErrProviderFileRefused
		}
		h.log.Warn("provider failed to start", attrRef, ref, attrLinkName, linkName, attrError, err)
		h.publishEvent("provider_start_failed", map[string]any{"provider_ref": ref, "link_name": linkName, "host_id": h.HostID(),
			"error": public.Error()})
		return nil, err
	}
	if err := h.checkProviderSandbox(); err != nil {
		return failed(err)
	}
	archive, err := h.loadProvider(ctx, ref)
	if err != nil {
		return failed(err)
	}
	claims, bin, err := h.verifyProvider(archive)
	if err != nil {
		return failed(err)
	}
	if err := h.decide(ctx, policy.Request{Action: policy.ActionStartProvider, Target: policy.Entity{PublicKey: claims.Subject,
		Issuer: claims.Issuer, ContractID: claims.CapID, LinkName: linkName}}); err != nil {
		return failed(err)
	}
	id := providerID(claims.Subject, linkName)
	h.mu.RLock()
	draining := h.draining
	h.mu.RUnlock()
	h.providers.mu.Lock()
	if _, running := h.providers.m[id]; running || draining {
		h.providers.mu.Unlock()
		if draining {
			return failed(ErrShuttingDown)
		}
		return failed(fmt.Errorf("%w: %s with link name %s", ErrProviderRunning, claims.Subject, linkName))
	}
	if h.providers.m == nil {
		h.providers.m = map[string]*runningProvider{}
	}
	h.providers.m[id] = nil
	h.providers.mu.Unlock()
	p, err := h.launchProvider(ctx, ref, linkName, annotations, config, claims, bin)
	h.providers.mu.Lock()
	if err != nil {
		delete(h.providers.m, id)
		h.providers.mu.Unlock()
		return failed(err)
	}
	h.providers.m[id] = p
	h.providers.mu.Unlock()
	h.log.Info("provider started", attrProvider, claims.Subject, attrLinkName, linkName, attrContract, claims.CapID, attrRef, ref,
		"delegated_key", p.signingKey())
	h.publishEvent("provider_started", h.providerEvent(p, nil))
	return claims, nil
}

// providerEvent is the data of provider_started and provider_stopped, in the 0.x layout.
func (h *Host) providerEvent(p *runningProvider, extra map[string]any) map[string]any {
	c := p.claims
	expires, notBefore := "never", "immediately"
	if !c.Expires.IsZero() {
		expires = c.Expires.Format(time.RFC3339)
	}
	if !c.NotBefore.IsZero() {
		notBefore = c.NotBefore.Format(time.RFC3339)
	}
	annotations := p.annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	data := map[string]any{"public_key": p.key, "image_ref": p.ref, "link_name": p.linkName, "contract_id": p.contract,
		"instance_id": p.instanceID, "annotations": annotations, "host_id": h.HostID(),
		"claims": map[string]any{"issuer": c.Issuer, "tags": []string{}, "name": c.Name, "version": c.Ver, "revision": c.Rev,
			"not_before_human": notBefore, "expires_human": expires}}
	for k, v := range extra {
		data[k] = v
	}
	return data
}

// launchProvider writes the binary into a fresh working directory, delegates a signing key (unless the
// cluster seed is handed over), and starts the supervisor that runs the process and restarts it when it dies.
func (h *Host) launchProvider(ctx context.Context, ref, linkName string, annotations map[string]string, config string,
	claims *par.Claims, bin []byte) (*runningProvider, error) {
	instanceID := wire.NewID()
	root := filepath.Join(h.cfg.StateDir, "providers")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("host: provider directory: %w", err)
	}
	dir, err := os.MkdirTemp(root, claims.Subject[:12]+"-"+linkName+"-")
	if err != nil {
		return nil, fmt.Errorf("host: provider directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, providerBinary), bin, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("host: write provider binary: %w", err)
	}
	p := &runningProvider{key: claims.Subject, linkName: linkName, contract: claims.CapID, ref: ref, instanceID: instanceID,
		claims: claims, annotations: annotations, config: config, dir: dir, done: make(chan struct{})}
	if !h.cfg.ProviderClusterSeed {
		if p.signing, err = nkey.Generate(nkey.Cluster); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if err := h.delegate(ctx, p); err != nil {
			p.signing.Wipe()
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	// The first start happens here, so that a binary that cannot run at all is reported to the caller.
	proc, exited, err := h.spawnProvider(p)
	if err != nil {
		h.withdraw(ctx, p)
		_ = os.RemoveAll(dir)
		return nil, err
	}
	p.proc = proc
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	if !h.tasks.Go(func() { h.superviseProvider(sctx, p, exited) }) {
		cancel()
		_ = proc.Kill()
		<-exited
		h.withdraw(ctx, p)
		_ = os.RemoveAll(dir)
		return nil, ErrShuttingDown
	}
	return p, nil
}

// delegate publishes (or renews) the delegation of the provider's signing key.
func (h *Host) delegate(ctx context.Context, p *runningProvider) error {
	if p.signing == nil || h.data == nil {
		return nil
	}
	return h.data.PutDelegation(ctx, lattice.Delegation{SigningKey: p.signingKey(), ProviderKey: p.key, ContractID: p.contract,
		LinkName: p.linkName, HostID: h.HostID(), Expires: time.Now().Add(providerDelegationTTL)})
}

// withdraw deletes the delegation of the provider's signing key, and wipes the key.
func (h *Host) withdraw(ctx context.Context, p *runningProvider) {
	if p.signing == nil {
		return
	}
	if h.data != nil {
		if err := h.data.DeleteDelegation(ctx, p.signingKey()); err != nil {
			h.log.Warn("could not withdraw a provider's delegation; it expires by itself", attrProvider, p.key, attrError, err)
		}
	}
	p.signing.Wipe()
}

// spawnProvider starts the provider process and writes its HostData line. exited is closed once the process
// was waited for.
func (h *Host) spawnProvider(p *runningProvider) (*os.Process, <-chan struct{}, error) {
	line, err := h.hostDataLine(p)
	if err != nil {
		return nil, nil, err
	}
	defer clear(line)
	cmd := exec.Command(filepath.Join(p.dir, providerBinary))
	cmd.Dir = p.dir
	cmd.Env = []string{} // not nil: nil would hand the host's whole environment over
	cmd.SysProcAttr = providerProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = cmd.Stdout // one pipe: the two streams interleave as the provider wrote them
	plog := h.log.With(attrProvider, p.key, attrLinkName, p.linkName)
	exited := make(chan struct{})
	logged := make(chan struct{})
	started := make(chan error, 1)
	go h.runProviderProcess(cmd, p.dir, plog, started, logged, exited)
	if err := <-started; err != nil {
		return nil, nil, fmt.Errorf("host: start provider %s: %w", p.key, err)
	}
	go func() { defer close(logged); logProviderOutput(out, plog) }()
	_, werr := stdin.Write(line)
	_ = stdin.Close()
	if werr != nil {
		plog.Warn("could not write the host data to the provider", attrError, werr)
	}
	return cmd.Process, exited, nil
}

// runProviderProcess starts cmd from an OS thread of its own, confined to dir (unless providers run
// unconfined), sends the outcome on started and, once started, waits for the process to exit, after its
// output was read to its end (logged), and closes exited.
//
// The thread is locked and never unlocked, so that it ends with this goroutine instead of going back to the
// scheduler confined: the Landlock domain and no_new_privs apply to the thread that forks, and so to the
// provider. The goroutine also stays for the provider's whole life, since the kernel sends the provider its
// Pdeathsig when the thread that forked it exits.
func (h *Host) runProviderProcess(cmd *exec.Cmd, dir string, plog *slog.Logger, started chan<- error, logged <-chan struct{},
	exited chan<- struct{}) {
	runtime.LockOSThread()
	if !h.cfg.ProviderUnconfined {
		if err := sandbox.ConfineThread(dir); err != nil {
			started <- err
			return
		}
	}
	if err := cmd.Start(); err != nil {
		started <- err
		return
	}
	started <- nil
	<-logged // Wait closes the pipe: read it to its end first
	err := cmd.Wait()
	plog.Info("provider process exited", "pid", cmd.Process.Pid, "status", exitStatus(err))
	close(exited)
}

func exitStatus(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}

// Provider output is logged at most providerLogBurst lines at once and providerLogRate lines per second after
// that: a provider that writes without end cannot flood the host's log (or its journal's rate limit, which
// would drop the host's own lines). Lines over the budget are dropped and counted on the next line logged.
const (
	providerLogRate  = 100
	providerLogBurst = 200
)

// logProviderOutput copies what a provider writes to the host's log, a line at a time, each cut to
// maxProviderLogLine bytes, within the provider log budget.
func logProviderOutput(r io.Reader, log interface{ Info(string, ...any) }) {
	br := bufio.NewReaderSize(r, maxProviderLogLine)
	tokens, last := float64(providerLogBurst), time.Now()
	var dropped int64
	for {
		line, isPrefix, err := br.ReadLine()
		if len(line) > 0 {
			now := time.Now()
			tokens = min(providerLogBurst, tokens+now.Sub(last).Seconds()*providerLogRate)
			last = now
			switch {
			case tokens < 1:
				dropped++
			case dropped > 0:
				tokens--
				log.Info(string(line), "source", "provider", "dropped_lines", dropped)
				dropped = 0
			default:
				tokens--
				log.Info(string(line), "source", "provider")
			}
		}
		for isPrefix && err == nil { // the rest of an over-long line is dropped
			_, isPrefix, err = br.ReadLine()
		}
		if err != nil {
			if dropped > 0 {
				log.Info("provider output ended", "source", "provider", "dropped_lines", dropped)
			}
			return
		}
	}
}

// hostDataLine builds the provider's HostData line (see hostData).
func (h *Host) hostDataLine(p *runningProvider) ([]byte, error) {
	d := &hostData{
		HostID: h.HostID(), LatticeRPCPrefix: h.cfg.LatticePrefix, LinkName: p.linkName, LatticeRPCURL: h.rpcURL,
		LatticeRPCTLS: h.cfg.RPC.TLS, InstanceID: p.instanceID, ProviderKey: p.key, LinkDefinitions: h.providerLinks(p.key, p.linkName),
		DefaultRPCTimeoutMS: uint64(h.cfg.RPCTimeout.Milliseconds()), ClusterIssuers: h.cluster.Issuers(),
		StructuredLogging: h.cfg.StructuredLogging,
	}
	if h.cfg.JSDomain != "" {
		d.JSDomain = &h.cfg.JSDomain
	}
	if p.config != "" {
		d.ConfigJSON = &p.config
	}
	jwt, userSeed, err := h.providerCredentials()
	if err != nil {
		return nil, err
	}
	defer clear(userSeed)
	d.LatticeRPCUserJWT = jwt
	var seed []byte
	if p.signing != nil {
		seed, err = p.signing.Seed()
	} else {
		seed, err = h.cluster.Seed()
	}
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return encodeHostData(d, seed, userSeed)
}

// providerCredentials returns the NATS user JWT and seed of the host's RPC connection, which 0.x hands to
// its providers: those of the embedded server's user, of WASMCLOUD_RPC_JWT and _SEED, or read from
// WASMCLOUD_RPC_CREDSFILE. The seed is a copy the caller wipes.
func (h *Host) providerCredentials() (jwt string, seed []byte, err error) {
	a := h.rpcAuth
	switch {
	case a.CredsFile != "":
		b, err := os.ReadFile(a.CredsFile)
		if err != nil {
			return "", nil, fmt.Errorf("host: read the RPC credentials for a provider: %w", err)
		}
		defer clear(b)
		if jwt, err = nkeys.ParseDecoratedJWT(b); err != nil {
			return "", nil, fmt.Errorf("host: RPC credentials file: %w", err)
		}
		kp, err := nkeys.ParseDecoratedNKey(b)
		if err != nil {
			return "", nil, fmt.Errorf("host: RPC credentials file: %w", err)
		}
		defer kp.Wipe()
		seed, err = kp.Seed()
		return jwt, seed, err
	case a.Seed.IsSet():
		if a.JWT.IsSet() {
			jwt = string(a.JWT.Reveal())
		}
		return jwt, bytes.Clone(a.Seed.Reveal()), nil
	}
	return "", nil, nil
}

// superviseProvider waits for the provider process to exit and starts it again with backoff, until the
// provider is stopped; meanwhile it checks the provider's health on the 0.x schedule and renews its
// delegation.
func (h *Host) superviseProvider(ctx context.Context, p *runningProvider, exited <-chan struct{}) {
	defer close(p.done)
	h.awaitProvider(ctx, p, exited)
	backoff := restartBackoffMin
	started := time.Now()
	health := time.NewTimer(providerHealthDelay)
	defer health.Stop()
	for {
		select {
		case <-health.C:
			h.checkProviderHealth(ctx, p)
			if err := h.delegate(ctx, p); err != nil {
				h.log.Warn("could not renew a provider's delegation", attrProvider, p.key, attrError, err)
			}
			health.Reset(providerHealthInterval)
			continue
		case <-ctx.Done():
			p.mu.Lock()
			proc := p.proc
			p.mu.Unlock()
			if proc != nil {
				killProvider(proc) // a process a restart started while the provider was being stopped
			}
			<-exited
			return
		case <-exited:
		}
		p.mu.Lock()
		p.proc = nil
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(started) > restartStable {
			backoff = restartBackoffMin
		}
		h.log.Warn("provider process died; restarting", attrProvider, p.key, attrLinkName, p.linkName, "after", backoff)
		h.publishEvent("provider_stopped", h.providerEvent(p, map[string]any{"reason": "crashed"}))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartBackoffMax)
		proc, ex, err := h.spawnProvider(p)
		if err != nil {
			h.log.Error("could not restart a provider; giving up", attrProvider, p.key, attrError, err)
			h.publishEvent("provider_start_failed", map[string]any{"provider_ref": p.ref, "link_name": p.linkName,
				"host_id": h.HostID(), "error": err.Error()})
			return
		}
		p.mu.Lock()
		p.proc, p.restarts = proc, p.restarts+1
		p.mu.Unlock()
		started, exited = time.Now(), ex
		h.publishEvent("provider_started", h.providerEvent(p, map[string]any{"restarts": p.restarts}))
		h.awaitProvider(ctx, p, exited)
	}
}

// awaitProvider waits until a freshly started provider answers on its health subject (at most
// providerHealthDelay), and then sends it every link to it again: a link put while it was still connecting,
// after its HostData was written, would otherwise never reach it. No event is published.
func (h *Host) awaitProvider(ctx context.Context, p *runningProvider, exited <-chan struct{}) {
	subject := lattice.ProviderHealthSubject(h.cfg.LatticePrefix, p.key, p.linkName)
	deadline := time.Now().Add(providerHealthDelay)
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		_, err := h.rpcConn.RequestWithContext(rctx, subject, nil)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-exited:
			return
		case <-time.After(100 * time.Millisecond): // "no responders" comes back at once
		}
	}
	for _, l := range h.data.Links() {
		if l.ProviderID == p.key && l.LinkName == p.linkName {
			if err := h.rpcConn.Publish(lattice.ProviderLinkPutSubject(h.cfg.LatticePrefix, p.key, p.linkName), encodeProviderLink(l)); err != nil {
				h.log.Warn("could not send a link to its provider", attrProvider, p.key, attrError, err)
			}
		}
	}
}

// healthCheckResponse is the reply to a provider health check.
type healthCheckResponse struct {
	Healthy bool
	Message string
}

// checkProviderHealth asks the provider for its health (an empty request, as 0.82 sends it) and publishes
// health_check_passed or health_check_failed when it changes, and health_check_status every time.
func (h *Host) checkProviderHealth(ctx context.Context, p *runningProvider) {
	cctx, cancel := context.WithTimeout(ctx, h.cfg.RPCTimeout)
	defer cancel()
	healthy := false
	msg, err := h.rpcConn.RequestWithContext(cctx, lattice.ProviderHealthSubject(h.cfg.LatticePrefix, p.key, p.linkName), nil)
	if err == nil {
		r, derr := decodeHealth(msg.Data)
		healthy = derr == nil && r.Healthy
	}
	data := map[string]any{"public_key": p.key, "contract_id": p.contract, "link_name": p.linkName, "healthy": healthy, "host_id": h.HostID()}
	p.mu.Lock()
	changed := p.healthy == nil || *p.healthy != healthy
	p.healthy = &healthy
	p.mu.Unlock()
	if changed {
		name := "health_check_passed"
		if !healthy {
			name = "health_check_failed"
		}
		h.publishEvent(name, data)
	}
	h.publishEvent("health_check_status", data)
}

// decodeHealth reads a HealthCheckResponse {healthy: bool, message?: str}.
func decodeHealth(b []byte) (healthCheckResponse, error) {
	var r healthCheckResponse
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return r, err
	}
	for range n {
		var key []byte
		if key, rest, err = msgp.ReadMapKeyZC(rest); err != nil {
			return r, err
		}
		switch string(key) {
		case "healthy":
			r.Healthy, rest, err = msgp.ReadBoolBytes(rest)
		case "message":
			if msgp.IsNil(rest) {
				rest = rest[1:]
				continue
			}
			r.Message, rest, err = msgp.ReadStringBytes(rest)
		default:
			rest, err = msgp.Skip(rest)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// StopProvider asks the provider instance (key or the reference it was started from, and link name) to shut
// down as 0.x does, kills it after a grace period, withdraws its delegation and removes its directory.
func (h *Host) StopProvider(ctx context.Context, ref, linkName string) error {
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	p := h.takeProvider(ref, linkName)
	if p == nil {
		return fmt.Errorf("%w: %s with link name %s", ErrProviderNotRunning, ref, linkName)
	}
	h.stopProvider(ctx, p, "stop")
	return nil
}

// takeProvider removes the provider instance (key or reference, link name) from the running set and returns
// it, or nil when none runs.
func (h *Host) takeProvider(ref, linkName string) *runningProvider {
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	h.providers.mu.Lock()
	defer h.providers.mu.Unlock()
	for id, q := range h.providers.m {
		if q != nil && q.linkName == linkName && (q.key == ref || q.ref == ref) {
			delete(h.providers.m, id)
			return q
		}
	}
	return nil
}

func (h *Host) stopProvider(ctx context.Context, p *runningProvider, reason string) {
	p.mu.Lock()
	p.stopping = true
	proc := p.proc
	p.mu.Unlock()
	if proc != nil {
		req, _ := json.Marshal(map[string]string{"host_id": h.HostID()})
		sctx, cancel := context.WithTimeout(ctx, providerShutdownGrace)
		_, err := h.rpcConn.RequestWithContext(sctx, lattice.ProviderShutdownSubject(h.cfg.LatticePrefix, p.key, p.linkName), req)
		if err != nil {
			h.log.Debug("the provider did not acknowledge the shutdown request", attrProvider, p.key, attrError, err)
		}
		select {
		case <-p.done:
		case <-sctx.Done():
		}
		cancel()
		killProvider(proc)
	}
	p.cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	h.withdraw(ctx, p)
	if err := os.RemoveAll(p.dir); err != nil {
		h.log.Warn("could not remove a provider's directory", attrProvider, p.key, attrError, err)
	}
	h.log.Info("provider stopped", attrProvider, p.key, attrLinkName, p.linkName)
	h.publishEvent("provider_stopped", h.providerEvent(p, map[string]any{"reason": reason}))
}

// stopProviders stops every provider (at shutdown).
func (h *Host) stopProviders(ctx context.Context) {
	h.providers.mu.Lock()
	var all []*runningProvider
	for id, p := range h.providers.m {
		if p != nil {
			all = append(all, p)
		}
		delete(h.providers.m, id)
	}
	h.providers.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.stopProvider(ctx, p, "host_stopped")
		}()
	}
	wg.Wait()
}

// providerDescriptions lists the providers this host runs, for inventories.
func (h *Host) providerDescriptions() []control.ProviderDescription {
	h.providers.mu.Lock()
	defer h.providers.mu.Unlock()
	out := make([]control.ProviderDescription, 0, len(h.providers.m))
	for _, p := range h.providers.m {
		if p == nil {
			continue
		}
		annotations := p.annotations
		if annotations == nil {
			annotations = map[string]string{}
		}
		out = append(out, control.ProviderDescription{ID: p.key, ImageRef: p.ref, ContractID: p.contract, LinkName: p.linkName,
			Name: p.claims.Name, InstanceID: p.instanceID, Annotations: annotations, Revision: p.claims.Rev})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID+out[i].LinkName < out[j].ID+out[j].LinkName })
	return out
}

// runsProvider reports whether this host runs the provider instance.
func (h *Host) runsProvider(key, linkName string) bool {
	h.providers.mu.Lock()
	defer h.providers.mu.Unlock()
	p, ok := h.providers.m[providerID(key, linkName)]
	return ok && p != nil
}

// providerLinks returns the links to a provider instance, as providers receive them.
func (h *Host) providerLinks(key, linkName string) []hostDataLink {
	var out []hostDataLink
	for _, l := range h.data.Links() {
		if l.ProviderID == key && l.LinkName == linkName {
			out = append(out, linkForProvider(l))
		}
	}
	return out
}

func linkForProvider(l control.LinkDefinition) hostDataLink {
	v := l.Values
	if v == nil {
		v = map[string]string{}
	}
	return hostDataLink{ID: l.ID, ActorID: l.ActorID, ProviderID: l.ProviderID, LinkName: l.LinkName, ContractID: l.ContractID, Values: v}
}

// encodeProviderLink is a link definition as 0.x hosts publish it on linkdefs.put and linkdefs.del: a
// MessagePack map with named fields.
func encodeProviderLink(l control.LinkDefinition) []byte {
	b := msgp.AppendMapHeader(nil, 6)
	b = msgp.AppendString(b, "id")
	b = msgp.AppendString(b, l.ID)
	b = msgp.AppendString(b, "actor_id")
	b = msgp.AppendString(b, l.ActorID)
	b = msgp.AppendString(b, "provider_id")
	b = msgp.AppendString(b, l.ProviderID)
	b = msgp.AppendString(b, "link_name")
	b = msgp.AppendString(b, l.LinkName)
	b = msgp.AppendString(b, "contract_id")
	b = msgp.AppendString(b, l.ContractID)
	b = msgp.AppendString(b, "values")
	keys := make([]string, 0, len(l.Values))
	for k := range l.Values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = msgp.AppendMapHeader(b, uint32(len(keys)))
	for _, k := range keys {
		b = msgp.AppendString(b, k)
		b = msgp.AppendString(b, l.Values[k])
	}
	return b
}

// forwardLink tells a provider process about a link change: the host that runs the provider does, from the
// lattice bucket's watch, and so does the host that stored the change (fromCtl), for providers that other
// processes run. Links to built-in providers stay inside the host.
func (h *Host) forwardLink(l control.LinkDefinition, set, fromCtl bool) {
	if capability.IsBuiltin(l.ProviderID) || h.rpcConn == nil {
		return
	}
	if runs := h.runsProvider(l.ProviderID, l.LinkName); runs == fromCtl {
		return // the host that runs the provider forwards from its watch; the control host forwards the rest
	}
	subject := lattice.ProviderLinkPutSubject(h.cfg.LatticePrefix, l.ProviderID, l.LinkName)
	if !set {
		subject = lattice.ProviderLinkDelSubject(h.cfg.LatticePrefix, l.ProviderID, l.LinkName)
	}
	if err := h.rpcConn.Publish(subject, encodeProviderLink(l)); err != nil {
		h.log.Warn("could not forward a link to its provider", attrProvider, l.ProviderID, attrLinkName, l.LinkName, attrError, err)
	}
}

// callProvider is the capability gate's route to any provider that is not built in: the invocation, signed
// like any other, goes to wasmbus.rpc.{lattice}.{provider}.{link name}, as 0.x hosts send it, and its reply
// is verified (see rpc.Cluster.NewProviderReply). A provider that does not answer is an error after the RPC
// timeout.
func (h *Host) callProvider(ctx context.Context, r capability.Request, payload []byte) ([]byte, error) {
	target := wire.Entity{PublicKey: r.Link.ProviderID, ContractID: r.Contract, LinkName: r.LinkName}
	inv := &wire.Invocation{Origin: wire.Entity{PublicKey: r.Caller.Key}, Target: target, Operation: r.Operation, Msg: payload}
	if err := h.cluster.SignWith(inv, rpc.SignOptions{Unauthenticated: unauthenticated(ctx)}); err != nil {
		return nil, err
	}
	store := h.chunks()
	if err := store.ChunkInvocation(ctx, inv); err != nil {
		return nil, err
	}
	reply := h.cluster.NewProviderReply(inv.ID, target, store.ResponseFetch(ctx, inv.ID))
	subject := lattice.ProviderRPCSubject(h.cfg.LatticePrefix, target.PublicKey, target.LinkName)
	// The calling actor's own call ends at its deadline: give up a little earlier, so that the actor gets
	// this error rather than its own timeout.
	timeout := h.cfg.RPCTimeout
	if dl, ok := ctx.Deadline(); ok {
		if rem := time.Until(dl) - providerCallMargin; rem < timeout {
			timeout = max(rem, time.Millisecond)
		}
	}
	if err := h.requests.Request(ctx, subject, inv.AppendMsgpack(nil), timeout, reply); err != nil {
		return nil, fmt.Errorf("%w: provider %s (%s, link name %s) did not answer %s: %w", ErrProviderUnavailable,
			target.PublicKey, r.Contract, r.LinkName, r.Operation, err)
	}
	return reply.Result()
}

// delegationLookup is the cluster's view of the lattice's verified provider delegations.
func (h *Host) delegationLookup(key string) (rpc.Delegation, bool) {
	d, ok := h.data.Delegation(key)
	if !ok {
		return rpc.Delegation{}, false
	}
	return rpc.Delegation{SigningKey: d.SigningKey, ProviderKey: d.ProviderKey, ContractID: d.ContractID, LinkName: d.LinkName,
		HostID: d.HostID, Issuer: d.Issuer, IssuedAt: d.IssuedAt, Expires: d.Expires}, true
}

// ctlStartProvider acknowledges once the reference is loadable and no instance runs under the link name, and
// starts the provider in the background: provider_started or provider_start_failed follows.
func (h *Host) ctlStartProvider(ctx context.Context, m *nats.Msg) any {
	var c control.StartProviderCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	if err := h.checkProviderRef(c.ProviderRef); err != nil {
		return h.ack(m, err)
	}
	if err := h.checkProviderSandbox(); err != nil {
		return h.ack(m, err)
	}
	if key := h.providerKeyOf(c.ProviderRef); key != "" && h.runsProvider(key, c.LinkName) {
		return h.ack(m, fmt.Errorf("%w: %s with link name %s", ErrProviderRunning, key, c.LinkName))
	}
	if !h.background(ctx, func(ctx context.Context) {
		_, _ = h.StartProvider(ctx, c.ProviderRef, c.LinkName, c.Annotations, c.Configuration)
	}) {
		return h.ack(m, ErrShuttingDown)
	}
	return h.ack(m, nil)
}

// providerKeyOf returns the key of a provider this host runs from ref (a key, or the reference it started
// from), or "".
func (h *Host) providerKeyOf(ref string) string {
	if nkey.CheckID(ref, nkey.Service) == nil {
		return ref
	}
	h.providers.mu.Lock()
	defer h.providers.mu.Unlock()
	for _, p := range h.providers.m {
		if p != nil && p.ref == ref {
			return p.key
		}
	}
	return ""
}

// ctlStopProvider acknowledges once the provider instance is known to run here, and stops it in the
// background (the shutdown request, the grace period): provider_stopped follows.
func (h *Host) ctlStopProvider(ctx context.Context, m *nats.Msg) any {
	var c control.StopProviderCommand
	if err := control.DecodeCtl(m.Data, &c); err != nil {
		return h.ack(m, err)
	}
	p := h.takeProvider(c.ProviderRef, c.LinkName)
	if p == nil {
		return h.ack(m, fmt.Errorf("%w: %s with link name %s", ErrProviderNotRunning, c.ProviderRef, c.LinkName))
	}
	if !h.tasks.Go(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), providerShutdownGrace+10*time.Second)
		defer cancel()
		h.stopProvider(ctx, p, "stop")
	}) {
		h.stopProvider(ctx, p, "stop")
	}
	return h.ack(m, nil)
}

// ctlProviderAuction bids for a provider when this host's labels satisfy the constraints, it can load the
// reference and it does not run the provider under that link name already.
func (h *Host) ctlProviderAuction(ctx context.Context, m *nats.Msg) any {
	var r control.ProviderAuctionRequest
	if err := control.DecodeCtl(m.Data, &r); err != nil {
		h.log.Warn("ignoring a malformed provider auction", attrReason, err)
		return nil
	}
	h.mu.RLock()
	draining := h.draining
	h.mu.RUnlock()
	if draining || !h.labelsMatch(r.Constraints) || h.checkProviderRef(r.ProviderRef) != nil || h.checkProviderSandbox() != nil {
		return nil
	}
	if key := h.providerKeyOf(r.ProviderRef); key != "" && h.runsProvider(key, r.LinkName) {
		return nil
	}
	if r.Constraints == nil {
		r.Constraints = map[string]string{}
	}
	return control.ProviderAuctionAck{ProviderRef: r.ProviderRef, LinkName: r.LinkName, Constraints: r.Constraints, HostID: h.HostID()}
}
