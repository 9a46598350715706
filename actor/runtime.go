package actor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

// Defaults applied to zero config fields.
const (
	// DefaultMemoryLimitPages is the default bound on an instance's linear memory: 1024 pages of
	// 64 KiB, that is 64 MiB.
	DefaultMemoryLimitPages = 1024
	// DefaultCallTimeout is the deadline of a guest call when ActorConfig.CallTimeout is zero.
	DefaultCallTimeout = 10 * time.Second
	// DefaultMaxInstances is the pool size when ActorConfig.MaxInstances is zero.
	DefaultMaxInstances = 1
)

// maxMemoryPages is the most a 32-bit wasm memory can address (4 GiB); wazero panics above it.
const maxMemoryPages = 65536

// RuntimeConfig configures a Runtime.
type RuntimeConfig struct {
	// CacheDir, when set, is a directory where compiled modules are kept across restarts (created if
	// missing). Its contents are specific to the wazero version.
	CacheDir string
	// MemoryLimitPages bounds each instance's memory in 64 KiB pages (default 1024 = 64 MiB, at most
	// 65536). A module whose minimum is above it is refused; a guest that tries to grow past it sees
	// memory.grow fail, and a trap that follows is reported with ErrMemoryLimit.
	MemoryLimitPages uint32
}

// Runtime compiles and runs actors. A host needs one: it owns the wazero runtime, the compilation
// cache, and the host modules (WASI preview1, and the guest ABI under "wasmbus" and "wapc") that
// every actor links against. A Runtime is safe for concurrent use.
type Runtime struct {
	rt         wazero.Runtime
	cache      wazero.CompilationCache // nil without CacheDir
	limitPages uint32
	// hostFuncs maps "module\x00name" of every host function a guest may import to its definition,
	// so Compile can refuse a module with an unresolvable import before anyone instantiates it.
	hostFuncs map[string]api.FunctionDefinition

	codeMu sync.Mutex
	// code holds the compiled code of every open Module by the SHA-256 of the module without its custom
	// sections; guarded by codeMu. Modules with the same code share one entry.
	code map[[32]byte]*sharedCode

	closeOnce sync.Once
	closed    chan struct{} // closed by Close
}

// NewRuntime creates a Runtime: the wazero runtime (compiler engine where the platform supports it,
// with a deadline check in guest loops), the optional on-disk compilation cache, and the host modules.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	limit := cfg.MemoryLimitPages
	if limit == 0 {
		limit = DefaultMemoryLimitPages
	}
	if limit > maxMemoryPages {
		return nil, fmt.Errorf("actor: memory limit of %d pages is above the wasm maximum of %d", limit, maxMemoryPages)
	}
	// The memory limit is enforced by each instance's allocator (limitedMemory) rather than by
	// WithMemoryLimitPages, so that a guest failing to grow past it can be told from other traps.
	// Without debug information, wazero neither parses DWARF sections (Compile leaves every custom section
	// out anyway) nor builds a source map per compiled module: the map cost memory per module and tens of
	// thousands of 8-byte reads per load from the compilation cache, to annotate stack traces of which only
	// the first line reaches an error (see classify).
	rc := wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithDebugInfoEnabled(false)
	r := &Runtime{limitPages: limit, closed: make(chan struct{}), hostFuncs: make(map[string]api.FunctionDefinition),
		code: make(map[[32]byte]*sharedCode)}
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("actor: compilation cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	r.rt = wazero.NewRuntimeWithConfig(ctx, rc)

	wasi := r.rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
	wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(wasi)
	// wazero's proc_exit closes the module. An exit from `_start` (TinyGo calls proc_exit(0) after
	// main) must leave the instance usable, as wasmtime does, so the exit only unwinds the call.
	wasi.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(procExit), []api.ValueType{api.ValueTypeI32}, nil).
		WithParameterNames("rval").
		Export("proc_exit")
	builders := []wazero.HostModuleBuilder{
		wasi,
		exportABI(r.rt.NewHostModuleBuilder(moduleWasmbus)),
		exportABI(r.rt.NewHostModuleBuilder(moduleWapc)),
	}
	for _, b := range builders {
		mod, err := b.Instantiate(ctx)
		if err != nil {
			_ = r.Close(ctx)
			return nil, fmt.Errorf("actor: define host module: %w", err)
		}
		for name, def := range mod.ExportedFunctionDefinitions() {
			r.hostFuncs[mod.Name()+"\x00"+name] = def
		}
	}
	return r, nil
}

// procExitError is what proc_exit unwinds a guest call with.
type procExitError struct{ code uint32 }

func (e *procExitError) Error() string { return fmt.Sprintf("guest called proc_exit(%d)", e.code) }

func procExit(_ context.Context, _ api.Module, stack []uint64) {
	panic(&procExitError{code: api.DecodeU32(stack[0])})
}

// MemoryLimitPages returns the memory bound applied to every instance, in 64 KiB pages.
func (r *Runtime) MemoryLimitPages() uint32 { return r.limitPages }

// Close releases the runtime: every module and instance created from it stops working, and later
// calls fail with ErrClosed. Close is idempotent.
func (r *Runtime) Close(ctx context.Context) error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		err = r.rt.Close(ctx)
		if r.cache != nil {
			err = errors.Join(err, r.cache.Close(ctx))
		}
	})
	return err
}

func (r *Runtime) isClosed() bool {
	select {
	case <-r.closed:
		return true
	default:
		return false
	}
}

// Module is a compiled actor module. Compile it once and create any number of Actors from it.
type Module struct {
	rt          *Runtime
	name        string
	code        *sharedCode
	compiled    wazero.CompiledModule // code.compiled
	hasInit     bool                  // exports _initialize (a WASI reactor), run once per instance before anything else
	hasStart    bool                  // exports _start, run once per instance
	hasWapcInit bool                  // exports wapc_init, run once per instance after _start
	closeOnce   sync.Once
}

// sharedCode is one compiled copy of a module's code, shared by every Module with that code.
type sharedCode struct {
	key   [32]byte
	ready chan struct{} // closed once compiled and err are set
	// compiled is the compiled code (nil if err is set); set before ready is closed, never changed after.
	compiled wazero.CompiledModule
	err      error // what wazero said when the code failed to compile; set before ready is closed
	refs     int   // guarded by Runtime.codeMu: open Modules using compiled, and Compiles waiting for it
}

// Name returns the name the module was compiled under (used in error messages).
func (m *Module) Name() string { return m.name }

// Close releases the module. Its compiled code is released with the last open Module that shares it. Close
// the Actors created from m first: their running instances would keep working, but new ones could not be
// created. Close is idempotent.
func (m *Module) Close(ctx context.Context) error {
	var err error
	m.closeOnce.Do(func() { err = m.rt.release(ctx, m.code) })
	return err
}

// release drops one reference to code, closing its compiled module with the last one.
func (r *Runtime) release(ctx context.Context, code *sharedCode) error {
	r.codeMu.Lock()
	code.refs--
	last := code.refs == 0
	if last && r.code[code.key] == code {
		delete(r.code, code.key)
	}
	r.codeMu.Unlock()
	if !last || code.compiled == nil {
		return nil
	}
	return code.compiled.Close(ctx)
}

// Compile compiles wasm (an actor module, with or without embedded claims) for this runtime. It refuses
// a module that is malformed, does not export `__guest_call(i32, i32) -> i32` or `memory`, needs more
// memory than the limit, or imports anything the host does not provide. name labels errors.
//
// Only the module's code is compiled: its custom sections (the token, names, debug information) take no
// part in running it and are left out. Modules with the same code, such as one build signed for several
// actors or signed again, share one compiled copy while any of them is open: the code is compiled (or read
// from the cache directory, where it is also kept by its code alone) once, and a new token never means a
// new compilation. Concurrent Compiles of the same code wait for one compilation.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte) (*Module, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	if m, err := wasmbin.Parse(wasm); err == nil {
		wasm = m.WithoutCustom()
	} // else wazero reports what is wrong with it
	code, err := r.compileCode(ctx, wasm)
	if err != nil {
		if r.isClosed() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: compile %s: %w", ErrInvalidModule, name, err)
	}
	m := &Module{rt: r, name: name, code: code, compiled: code.compiled}
	if err := r.checkModule(m); err != nil {
		_ = m.Close(ctx)
		return nil, err
	}
	return m, nil
}

// compileCode returns the shared compiled copy of wasm, compiling it if no open Module has it, with one
// reference taken for the caller.
func (r *Runtime) compileCode(ctx context.Context, wasm []byte) (*sharedCode, error) {
	key := sha256.Sum256(wasm)
	for {
		r.codeMu.Lock()
		code, ok := r.code[key]
		if !ok {
			code = &sharedCode{key: key, ready: make(chan struct{}), refs: 1}
			r.code[key] = code
			r.codeMu.Unlock()
			return r.compileShared(ctx, code, wasm)
		}
		code.refs++
		r.codeMu.Unlock()
		select {
		case <-code.ready:
		case <-ctx.Done():
			_ = r.release(ctx, code)
			return nil, ctx.Err()
		}
		if code.err == nil {
			return code, nil
		}
		_ = r.release(ctx, code)
		// The compilation waited for failed. If the context of whoever ran it ended, it says nothing about
		// the code: try again (the failed entry is gone).
		if !errors.Is(code.err, context.Canceled) && !errors.Is(code.err, context.DeadlineExceeded) {
			return nil, code.err
		}
	}
}

// compileShared compiles wasm into code, which the caller has just put in r.code with its reference.
func (r *Runtime) compileShared(ctx context.Context, code *sharedCode, wasm []byte) (*sharedCode, error) {
	code.compiled, code.err = r.rt.CompileModule(ctx, wasm)
	if code.err != nil {
		r.codeMu.Lock()
		delete(r.code, code.key) // a later Compile tries again
		r.codeMu.Unlock()
	}
	close(code.ready)
	if code.err != nil {
		_ = r.release(ctx, code)
		return nil, code.err
	}
	return code, nil
}

// checkModule enforces the guest ABI's exports and resolves every import against the host modules.
func (r *Runtime) checkModule(m *Module) error {
	cm := m.compiled
	i32 := api.ValueTypeI32
	exports := cm.ExportedFunctions()
	if gc, ok := exports["__guest_call"]; !ok || !sameTypes(gc.ParamTypes(), []api.ValueType{i32, i32}) ||
		!sameTypes(gc.ResultTypes(), []api.ValueType{i32}) {
		return fmt.Errorf("%w: module %s", ErrNoGuestCall, m.name)
	}
	mem, ok := cm.ExportedMemories()["memory"]
	if !ok {
		return fmt.Errorf("%w: module %s", ErrNoMemory, m.name)
	}
	if mem.Min() > r.limitPages {
		return fmt.Errorf("%w: module %s needs at least %d pages of memory, the limit is %d",
			ErrMemoryLimit, m.name, mem.Min(), r.limitPages)
	}
	for _, init := range []struct {
		name string
		flag *bool
	}{{"_initialize", &m.hasInit}, {"_start", &m.hasStart}, {"wapc_init", &m.hasWapcInit}} {
		def, ok := exports[init.name]
		if !ok {
			continue
		}
		if len(def.ParamTypes()) != 0 || len(def.ResultTypes()) != 0 {
			return fmt.Errorf("%w: module %s: export %s must take and return nothing", ErrInvalidModule, m.name, init.name)
		}
		*init.flag = true
	}
	for _, imp := range cm.ImportedFunctions() {
		mod, name, _ := imp.Import()
		host, ok := r.hostFuncs[mod+"\x00"+name]
		if !ok {
			return fmt.Errorf("%w: module %s imports function %s.%s, which the host does not provide",
				ErrInvalidModule, m.name, mod, name)
		}
		if !sameTypes(imp.ParamTypes(), host.ParamTypes()) || !sameTypes(imp.ResultTypes(), host.ResultTypes()) {
			return fmt.Errorf("%w: module %s imports %s.%s with signature %v -> %v, the host's is %v -> %v",
				ErrInvalidModule, m.name, mod, name, typeNames(imp.ParamTypes()), typeNames(imp.ResultTypes()),
				typeNames(host.ParamTypes()), typeNames(host.ResultTypes()))
		}
	}
	for _, mem := range cm.ImportedMemories() {
		mod, name, _ := mem.Import()
		return fmt.Errorf("%w: module %s imports memory %s.%s; the host provides none", ErrInvalidModule, m.name, mod, name)
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func typeNames(ts []api.ValueType) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = api.ValueTypeName(t)
	}
	return names
}

// HostCallFunc carries a guest's `__host_call` out of the runtime: binding is the link name ("" for an
// actor-to-actor call), namespace the contract ID or target actor, operation e.g. "KeyValue.Get", and
// payload the guest's bytes (a copy the function may keep). An error is handed to the guest as text.
// ctx carries the deadline of the guest call.
type HostCallFunc func(ctx context.Context, binding, namespace, operation string, payload []byte) ([]byte, error)

// ActorConfig configures an Actor.
type ActorConfig struct {
	// MaxInstances bounds the instances of this actor, so also its concurrent calls (default 1).
	MaxInstances int
	// CallTimeout is the deadline of each guest call, and of `_initialize`, `_start` and `wapc_init`
	// (default 10 s).
	CallTimeout time.Duration
	// HostCall handles the guest's outbound calls. If nil, every host call fails.
	HostCall HostCallFunc
	// ConsoleLog receives the guest's `__console_log` messages (at most 64 KiB each). If nil, they
	// are dropped. It may be called from several goroutines at once.
	ConsoleLog func(msg string)
}

// Actor runs calls against pooled instances of one Module. An instance serves one call at a time and
// keeps its memory between calls; one that traps, times out or fails without a guest error is
// discarded and replaced on demand. An Actor is safe for concurrent use.
type Actor struct {
	rt      *Runtime
	mod     *Module
	cfg     ActorConfig
	modCfg  wazero.ModuleConfig
	pool    *pool
	limitSz uint64 // memory limit in bytes
}

// NewActor creates an Actor from m and starts its first instance, so a module that cannot be
// instantiated or whose `_initialize`, `_start` or `wapc_init` fails is reported here rather than on
// the first call.
func (r *Runtime) NewActor(ctx context.Context, m *Module, cfg ActorConfig) (*Actor, error) {
	if r.isClosed() {
		return nil, ErrClosed
	}
	if m == nil || m.rt != r {
		return nil, errors.New("actor: module was not compiled by this runtime")
	}
	if cfg.MaxInstances < 0 {
		return nil, fmt.Errorf("actor: MaxInstances is %d, must not be negative", cfg.MaxInstances)
	}
	if cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("actor: CallTimeout is %s, must not be negative", cfg.CallTimeout)
	}
	if cfg.MaxInstances == 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	a := &Actor{
		rt:  r,
		mod: m,
		cfg: cfg,
		// An anonymous name lets any number of instances coexist. No start functions: _initialize,
		// _start and wapc_init are called explicitly, with a deadline, and proc_exit(0) from them is fine.
		modCfg: wazero.NewModuleConfig().
			WithName("").
			WithStartFunctions().
			WithSysWalltime().
			WithSysNanotime().
			WithRandSource(rand.Reader),
		pool:    newPool(cfg.MaxInstances),
		limitSz: uint64(r.limitPages) * 65536,
	}
	inst, err := a.pool.acquire(ctx, a.newInstance)
	if err != nil {
		return nil, err
	}
	a.pool.release(ctx, inst, true)
	return a, nil
}

// instance is one instantiation of an actor module with its ABI state.
type instance struct {
	mod       api.Module
	guestCall api.Function
	mem       *limitedMemory
	st        callState
	stack     [2]uint64 // __guest_call's parameters in, its result out

	abortMu sync.Mutex
	cancel  context.CancelFunc // guarded by abortMu; cancels the running call
	aborted bool               // guarded by abortMu; set by abort, cancels any later call at once
}

// setCancel records the cancel function of the call about to run (nil once it has ended).
func (i *instance) setCancel(cancel context.CancelFunc) {
	i.abortMu.Lock()
	i.cancel = cancel
	if i.aborted && cancel != nil {
		cancel()
	}
	i.abortMu.Unlock()
}

// abort cancels the instance's running call (and any it starts later). wazero then stops the guest
// and closes the module from the call's own goroutine, which is safer than closing it from here.
func (i *instance) abort() {
	i.abortMu.Lock()
	i.aborted = true
	if i.cancel != nil {
		i.cancel()
	}
	i.abortMu.Unlock()
}

// close closes the instance's module. The call or creation that ends with it may have ended because its
// context did, so the close keeps only ctx's values.
// It runs on the goroutine that ran the instance's last call, if any, so no call is running and the
// instance's memory can be given back at once.
func (i *instance) close(ctx context.Context) {
	_ = i.mod.Close(context.WithoutCancel(ctx))
	if i.mem != nil {
		i.mem.unmap()
	}
}

// newInstance instantiates the module and runs its `_initialize` (which a WASI reactor such as a Go
// -buildmode=c-shared module needs before any other export is called), `_start` and `wapc_init`, in
// that order, each if exported.
func (a *Actor) newInstance(ctx context.Context) (*instance, error) {
	inst := &instance{}
	allocCtx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(
		func(capacity, maxBytes uint64) experimental.LinearMemory {
			inst.mem = newLimitedMemory(capacity, maxBytes, a.limitSz)
			return inst.mem
		}))
	mod, err := a.rt.rt.InstantiateModule(allocCtx, a.mod.compiled, a.modCfg)
	if err != nil {
		if a.rt.isClosed() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w %s: %w", ErrInstantiate, a.mod.name, err)
	}
	inst.mod, inst.guestCall = mod, mod.ExportedFunction("__guest_call")
	inst.st = callState{mod: mod, hostCall: a.cfg.HostCall, consoleLog: a.cfg.ConsoleLog}
	for _, init := range []struct {
		name   string
		export bool
	}{{"_initialize", a.mod.hasInit}, {"_start", a.mod.hasStart}, {"wapc_init", a.mod.hasWapcInit}} {
		if !init.export {
			continue
		}
		if err := a.runInit(ctx, inst, init.name); err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("%w %s: %w", ErrInstantiate, a.mod.name, err)
		}
	}
	return inst, nil
}

// runInit calls an initialisation export with the call deadline and no pending invocation (so a
// `__guest_request` from it traps). An exit with code 0 counts as success.
func (a *Actor) runInit(ctx context.Context, inst *instance, name string) error {
	cctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	inst.st.end()
	err := inst.mod.ExportedFunction(name).CallWithStack(&callContext{Context: cctx, st: &inst.st}, nil)
	inst.st.end()
	if err == nil {
		return nil
	}
	var pe *procExitError
	var ee *sys.ExitError
	if (errors.As(err, &pe) && pe.code == 0) || (errors.As(err, &ee) && ee.ExitCode() == 0 && !inst.mod.IsClosed()) {
		return nil
	}
	return a.classify(ctx, inst, name, err)
}

// Name returns the name of the module the actor runs.
func (a *Actor) Name() string { return a.mod.name }

// Call invokes operation on the actor with payload and returns the guest's response. It waits for a
// free instance while MaxInstances calls are running, as long as ctx allows, and gives the guest
// CallTimeout (or ctx's earlier deadline). Errors: *GuestError when the guest reported one; ErrTrap,
// ErrTimeout, ErrGuestFailed, ErrHostCall, ErrClosed (each with the operation) otherwise. The
// response belongs to the caller.
func (a *Actor) Call(ctx context.Context, operation string, payload []byte) ([]byte, error) {
	if len(operation) > math.MaxInt32 || len(payload) > math.MaxInt32 {
		return nil, fmt.Errorf("actor: call %q: operation or payload too large for a 32-bit guest", operation)
	}
	if err := ctx.Err(); err != nil {
		// Checked first: wazero would close the instance on a context that is already done.
		return nil, fmt.Errorf("actor: call %q: %w", operation, err)
	}
	inst, err := a.pool.acquire(ctx, a.newInstance)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil, fmt.Errorf("%w (operation %q)", ErrClosed, operation)
		}
		return nil, err
	}
	resp, keep, err := a.invoke(ctx, inst, operation, payload)
	a.pool.release(ctx, inst, keep)
	return resp, err
}

// invoke runs one `__guest_call` on inst and applies the wasmbus result rules. keep reports whether
// the instance is fit for another call.
func (a *Actor) invoke(ctx context.Context, inst *instance, op string, payload []byte) (resp []byte, keep bool, err error) {
	st := &inst.st
	st.begin(op, payload)
	defer st.end()

	if inst.mem != nil {
		inst.mem.hit = false
	}
	cctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	inst.setCancel(cancel)
	inst.stack[0], inst.stack[1] = uint64(len(op)), uint64(len(payload))
	err = inst.guestCall.CallWithStack(&callContext{Context: cctx, st: st}, inst.stack[:])
	inst.setCancel(nil)
	cancel()
	if err != nil {
		return nil, false, a.classify(ctx, inst, op, err)
	}
	rc := api.DecodeI32(inst.stack[0])
	switch {
	case st.guestErrSet:
		return nil, true, &GuestError{Operation: op, Message: st.guestErr}
	case st.hostErrSet:
		return nil, rc == 1, fmt.Errorf("%w (operation %q) and the guest did not read the error: %s", ErrHostCall, op, st.hostErr)
	case rc != 1:
		return nil, false, fmt.Errorf("%w (operation %q): __guest_call returned %d", ErrGuestFailed, op, rc)
	}
	resp = st.guestResp
	if resp == nil {
		resp = []byte{}
	}
	return resp, true, nil
}

// classify turns an error from a guest function into one of the package's errors.
func (a *Actor) classify(ctx context.Context, inst *instance, op string, err error) error {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch code := ee.ExitCode(); {
		case code == sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w (operation %q): %w (call timeout %s)", ErrTimeout, op, context.DeadlineExceeded, a.cfg.CallTimeout)
		case code == sys.ExitCodeContextCanceled && ctx.Err() != nil:
			return fmt.Errorf("actor: call cancelled (operation %q): %w", op, context.Canceled)
		case code == sys.ExitCodeContextCanceled || a.rt.isClosed():
			// Only Actor.Close (or Runtime.Close) closes an instance under a running call.
			return fmt.Errorf("%w (operation %q): the call was aborted", ErrClosed, op)
		default:
			return fmt.Errorf("%w (operation %q): guest exited with code %d", ErrTrap, op, code)
		}
	}

	var cause error
	var abi *abiError
	var pe *procExitError
	switch {
	case errors.As(err, &abi):
		cause = abi
	case errors.As(err, &pe):
		cause = pe
	default:
		// wazero appends the wasm stack trace on further lines; keep the first.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		cause = errors.New(msg)
	}
	if inst.mem != nil && inst.mem.hit {
		return fmt.Errorf("%w (operation %q): %w (%d pages): %w", ErrTrap, op, ErrMemoryLimit, a.rt.limitPages, cause)
	}
	return fmt.Errorf("%w (operation %q): %w", ErrTrap, op, cause)
}

// Instances reports how many instances the actor holds: idle ones and ones serving a call.
func (a *Actor) Instances() (idle, busy int) { return a.pool.size() }

// Close stops the actor: later calls fail with ErrClosed, idle instances are closed at once, and
// calls in progress are waited for until ctx is done, after which they are aborted and ctx's error
// is returned. Close is idempotent.
func (a *Actor) Close(ctx context.Context) error { return a.pool.close(ctx) }
