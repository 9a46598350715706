package actor

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Host module names. Actors built with wasmbus-rpc import from "wasmbus"; waPC-era actors import the
// identical function set from "wapc".
const (
	moduleWasmbus = "wasmbus"
	moduleWapc    = "wapc"
)

// Bounds on lengths a guest hands to the host. Everything the guest passes is checked against its
// memory first; these bounds additionally stop a guest from making the host copy arbitrary amounts.
const (
	// maxGuestBytes bounds a guest response, a guest error and a host-call payload.
	maxGuestBytes = 16 << 20
	// maxNameBytes bounds the binding, namespace and operation of a host call.
	maxNameBytes = 4 << 10
	// maxLogBytes is how much of one console message is passed on; longer messages are truncated.
	maxLogBytes = 64 << 10
)

// callState is the ABI state of one instance: the invocation in progress and what guest and host have
// exchanged so far. It belongs to exactly one instance, which is used by one goroutine at a time, so
// it needs no lock. The host functions reach it through the context of the current guest call.
type callState struct {
	mod        api.Module // the instance this state belongs to; the host functions check the caller
	hostCall   HostCallFunc
	consoleLog func(string)

	pending bool   // an invocation is in progress, so __guest_request may be called
	op      string // operation of the pending invocation
	payload []byte // payload of the pending invocation

	guestResp   []byte // copy of what the guest passed to __guest_response
	guestErr    string // text the guest passed to __guest_error
	guestErrSet bool
	hostResp    []byte // result of the last successful __host_call, until copied
	hostRespSet bool
	hostErr     string // error of the last failed __host_call, until the guest copies it
	hostErrSet  bool   // set until copied: an unread host error decides the call's result
}

// begin arms the state for a new invocation.
func (s *callState) begin(op string, payload []byte) {
	*s = callState{mod: s.mod, hostCall: s.hostCall, consoleLog: s.consoleLog, pending: true, op: op, payload: payload}
}

// end drops every reference the state holds into caller or guest data.
func (s *callState) end() {
	*s = callState{mod: s.mod, hostCall: s.hostCall, consoleLog: s.consoleLog}
}

// stateKey is the context key under which a guest call carries its *callState.
type stateKey struct{}

// callContext is the context of one guest call. It carries the instance's callState so host functions
// can find it with one type assertion instead of a map lookup or a walk up the context chain.
type callContext struct {
	context.Context
	st *callState
}

// Value implements context.Context.
func (c *callContext) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return c.st
	}
	return c.Context.Value(key)
}

// stateFor returns the callState of the guest call that invoked host function fn, trapping if the
// call does not come from an instance this host is driving.
func stateFor(ctx context.Context, mod api.Module, fn string) *callState {
	var st *callState
	if c, ok := ctx.(*callContext); ok {
		st = c.st
	} else if v, ok := ctx.Value(stateKey{}).(*callState); ok {
		st = v
	}
	if st == nil || st.mod != mod {
		panic(&abiError{fn: fn, msg: "called outside an invocation of this instance"})
	}
	return st
}

// guestBytes returns a view of n bytes at ptr in the caller's memory, trapping if n is above limit or
// the range is outside memory. The view is valid only until the guest runs again.
func guestBytes(mod api.Module, fn string, ptr, n, limit uint32) []byte {
	if n > limit {
		panic(&abiError{fn: fn, msg: fmt.Sprintf("length %d exceeds the limit of %d bytes", n, limit)})
	}
	mem := mod.Memory()
	if mem == nil {
		panic(&abiError{fn: fn, msg: "guest has no memory"})
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		panic(&abiError{fn: fn, msg: fmt.Sprintf("range [%d, %d) is outside guest memory of %d bytes",
			ptr, uint64(ptr)+uint64(n), mem.Size())})
	}
	return b
}

// writeGuest copies b into the caller's memory at ptr, trapping if it does not fit.
func writeGuest(mod api.Module, fn string, ptr uint32, b []byte) {
	mem := mod.Memory()
	if mem == nil || !mem.Write(ptr, b) {
		size := uint32(0)
		if mem != nil {
			size = mem.Size()
		}
		panic(&abiError{fn: fn, msg: fmt.Sprintf("range [%d, %d) is outside guest memory of %d bytes",
			ptr, uint64(ptr)+uint64(len(b)), size)})
	}
}

// guestRequest implements __guest_request(op_ptr, payload_ptr): the host writes the pending
// operation and payload into buffers the guest allocated with the lengths __guest_call received.
func guestRequest(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__guest_request"
	st := stateFor(ctx, mod, fn)
	if !st.pending {
		panic(&abiError{fn: fn, msg: "unexpected call: no invocation is pending"})
	}
	mem := mod.Memory()
	opPtr, payloadPtr := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if mem == nil || !mem.WriteString(opPtr, st.op) {
		panic(&abiError{fn: fn, msg: fmt.Sprintf("operation buffer at %d (%d bytes) is outside guest memory", opPtr, len(st.op))})
	}
	writeGuest(mod, fn, payloadPtr, st.payload)
}

// guestResponse implements __guest_response(ptr, len): the guest hands back its response.
func guestResponse(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__guest_response"
	st := stateFor(ctx, mod, fn)
	b := guestBytes(mod, fn, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxGuestBytes)
	st.guestResp = bytes.Clone(b)
	if st.guestResp == nil {
		st.guestResp = []byte{}
	}
}

// guestError implements __guest_error(ptr, len): the guest reports a failure as UTF-8 text.
func guestError(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__guest_error"
	st := stateFor(ctx, mod, fn)
	b := guestBytes(mod, fn, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxGuestBytes)
	st.guestErr, st.guestErrSet = string(b), true
}

// hostCall implements __host_call(bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len) -> i32.
// It returns 1 when the host callback succeeded and 0 when it failed; 0 is what both wasmbus-rpc
// (`!= 1`) and TinyGo (`== 0`) guests read as failure.
func hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__host_call"
	st := stateFor(ctx, mod, fn)
	binding := string(guestBytes(mod, fn, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxNameBytes))
	namespace := string(guestBytes(mod, fn, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]), maxNameBytes))
	operation := string(guestBytes(mod, fn, api.DecodeU32(stack[4]), api.DecodeU32(stack[5]), maxNameBytes))
	payload := bytes.Clone(guestBytes(mod, fn, api.DecodeU32(stack[6]), api.DecodeU32(stack[7]), maxGuestBytes))
	if payload == nil {
		payload = []byte{}
	}

	st.hostResp, st.hostRespSet = nil, false
	st.hostErr, st.hostErrSet = "", false

	var resp []byte
	var err error
	switch {
	case st.hostCall == nil:
		err = fmt.Errorf("actor: no host call handler for %s %s", namespace, operation)
	default:
		resp, err = st.hostCall(ctx, binding, namespace, operation, payload)
		if err == nil && len(resp) > math.MaxInt32 {
			err = fmt.Errorf("actor: host call reply of %d bytes is too large for the guest", len(resp))
		}
	}
	if err != nil {
		st.hostErr, st.hostErrSet = err.Error(), true
		stack[0] = 0
		return
	}
	st.hostResp, st.hostRespSet = resp, true
	stack[0] = 1
}

// hostResponseLen implements __host_response_len() -> i32.
func hostResponseLen(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFor(ctx, mod, "__host_response_len")
	stack[0] = api.EncodeU32(uint32(len(st.hostResp)))
}

// hostResponse implements __host_response(ptr): copy the last host-call result into the guest and
// forget it. It traps when there is no result to copy.
func hostResponse(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__host_response"
	st := stateFor(ctx, mod, fn)
	if !st.hostRespSet {
		panic(&abiError{fn: fn, msg: "no host response to copy"})
	}
	writeGuest(mod, fn, api.DecodeU32(stack[0]), st.hostResp)
	st.hostResp, st.hostRespSet = nil, false
}

// hostErrorLen implements __host_error_len() -> i32.
func hostErrorLen(ctx context.Context, mod api.Module, stack []uint64) {
	st := stateFor(ctx, mod, "__host_error_len")
	stack[0] = api.EncodeU32(uint32(len(st.hostErr)))
}

// hostError implements __host_error(ptr): copy the last host-call error into the guest and forget it.
// Reading the error means the guest has handled it, so it no longer decides the call's result.
func hostError(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__host_error"
	st := stateFor(ctx, mod, fn)
	if !st.hostErrSet {
		return
	}
	mem := mod.Memory()
	ptr := api.DecodeU32(stack[0])
	if mem == nil || !mem.WriteString(ptr, st.hostErr) {
		panic(&abiError{fn: fn, msg: fmt.Sprintf("range [%d, %d) is outside guest memory", ptr, uint64(ptr)+uint64(len(st.hostErr)))})
	}
	st.hostErr, st.hostErrSet = "", false
}

// consoleLog implements __console_log(ptr, len).
func consoleLog(ctx context.Context, mod api.Module, stack []uint64) {
	const fn = "__console_log"
	st := stateFor(ctx, mod, fn)
	b := guestBytes(mod, fn, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxGuestBytes)
	if st.consoleLog == nil {
		return
	}
	if len(b) > maxLogBytes {
		b = b[:maxLogBytes]
	}
	st.consoleLog(string(b))
}

// exportABI adds the guest ABI host functions to b.
func exportABI(b wazero.HostModuleBuilder) wazero.HostModuleBuilder {
	i32 := api.ValueTypeI32
	def := func(name string, f api.GoModuleFunc, params, results []api.ValueType, names ...string) {
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).WithParameterNames(names...).Export(name)
	}
	none := []api.ValueType{}
	def("__guest_request", guestRequest, []api.ValueType{i32, i32}, none, "op_ptr", "ptr")
	def("__guest_response", guestResponse, []api.ValueType{i32, i32}, none, "ptr", "len")
	def("__guest_error", guestError, []api.ValueType{i32, i32}, none, "ptr", "len")
	def("__host_call", hostCall, []api.ValueType{i32, i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32},
		"bd_ptr", "bd_len", "ns_ptr", "ns_len", "op_ptr", "op_len", "ptr", "len")
	def("__host_response_len", hostResponseLen, none, []api.ValueType{i32})
	def("__host_response", hostResponse, []api.ValueType{i32}, none, "ptr")
	def("__host_error_len", hostErrorLen, none, []api.ValueType{i32})
	def("__host_error", hostError, []api.ValueType{i32}, none, "ptr")
	def("__console_log", consoleLog, []api.ValueType{i32, i32}, none, "ptr", "len")
	return b
}
