//go:build wasip1

package guest

import "unsafe"

// The host functions of the wasmbus ABI. Every parameter is an i32 in wasm: a Go string is passed as
// its (pointer, length) pair and a *byte as an address in the module's memory, which the compiler
// keeps alive for the duration of the call. Lengths are uint32 because wasm memory is 32-bit.

//go:wasmimport wasmbus __guest_request
func guestRequest(op, payload *byte)

//go:wasmimport wasmbus __guest_response
func guestResponse(ptr *byte, n uint32)

//go:wasmimport wasmbus __guest_error
func guestError(msg string)

//go:wasmimport wasmbus __host_call
func hostCall(binding, namespace, operation string, payload *byte, n uint32) uint32

//go:wasmimport wasmbus __host_response_len
func hostResponseLen() uint32

//go:wasmimport wasmbus __host_response
func hostResponse(ptr *byte)

//go:wasmimport wasmbus __host_error_len
func hostErrorLen() uint32

//go:wasmimport wasmbus __host_error
func hostError(ptr *byte)

//go:wasmimport wasmbus __console_log
func consoleLog(msg string)

// handlers holds the registrations of this instance. Wasm runs one thread, so it needs no lock.
var handlers dispatcher

// Handle registers h as the handler of operation ("Service.Method", e.g. "Hello.SayHello"). Call it
// from an init function: in a -buildmode=c-shared module main never runs. h receives the invocation's
// payload, which it may keep, and returns the response or an error that the host receives as a guest
// error. Registering an empty operation, a nil handler or an operation twice is a programming
// mistake; it makes every invocation of the instance fail with ErrInvalidHandler.
func Handle(operation string, h func(payload []byte) ([]byte, error)) {
	handlers.register(operation, h)
}

// guestCall is the entry point of every invocation: it fetches the operation and payload, runs the
// handler and hands the host its response or error. It returns 1 on success and 0 on failure, as
// wasmbus-rpc guests do.
//
//go:wasmexport __guest_call
func guestCall(opLen, payloadLen uint32) uint32 {
	op := make([]byte, opLen)
	payload := make([]byte, payloadLen)
	guestRequest(unsafe.SliceData(op), unsafe.SliceData(payload))
	resp, err := handlers.dispatch(string(op), payload)
	if err != nil {
		guestError(err.Error())
		return 0
	}
	guestResponse(unsafe.SliceData(resp), uint32(len(resp)))
	return 1
}

// rpcVersion reports the version of the wasmbus ABI the guest speaks, as Rust actors built with
// wasmbus-rpc do. Only old hosts read it.
//
//go:wasmexport __wasmbus_rpc_version
func rpcVersion() uint32 { return 1 }

// HostCall calls operation on the target namespace through the link named binding and returns the
// reply: for a capability provider, binding is the link name (usually "default") and namespace the
// contract ID, e.g. HostCall("default", "wasmcloud:keyvalue", "KeyValue.Get", payload); for another
// actor see CallActor. A failure reported by the host is returned as a *HostError with its text.
// The call blocks the instance until the host answers.
func HostCall(binding, namespace, operation string, payload []byte) ([]byte, error) {
	// Hosts disagree on the failure code (0 or 0xFFFFFFFF), so anything but 1 is a failure.
	if hostCall(binding, namespace, operation, unsafe.SliceData(payload), uint32(len(payload))) != 1 {
		msg := make([]byte, hostErrorLen())
		hostError(unsafe.SliceData(msg))
		return nil, &HostError{Binding: binding, Namespace: namespace, Operation: operation, Message: string(msg)}
	}
	resp := make([]byte, hostResponseLen())
	hostResponse(unsafe.SliceData(resp))
	return resp, nil
}

// CallActor calls operation on another actor, named by its public key (M…) or its call alias, and
// returns the reply. It is HostCall with an empty binding, the convention for actor-to-actor calls.
func CallActor(target, operation string, payload []byte) ([]byte, error) {
	return HostCall("", target, operation, payload)
}

// Log passes msg to the host's console log. Hosts may truncate long messages (this one keeps 64 KiB).
func Log(msg string) { consoleLog(msg) }
