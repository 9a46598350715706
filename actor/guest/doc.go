// Package guest lets an actor for this host be written in plain Go and built with the standard
// toolchain, without TinyGo or a code generator:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o actor.wasm ./myactor
//
// It implements the guest side of the wasmbus ABI (the functions a wasmCloud 0.x host exports under
// the module name "wasmbus", and the `__guest_call` export it invokes), so an actor only registers a
// handler per operation and calls out through HostCall, CallActor and Log:
//
//	func init() {
//		guest.Handle("Hello.SayHello", func(payload []byte) ([]byte, error) { ... })
//	}
//
//	func main() {}
//
// The package exists because Go 1.24 and later can produce such a module directly with
// //go:wasmimport and //go:wasmexport, which makes the language the host is written in also a
// language for its actors, and makes the examples under examples/ buildable in the host's own tests.
//
// Build with -buildmode=c-shared. That makes a WASI reactor: it exports `_initialize`, which the host
// calls once per instance to start the Go runtime and run package init functions, and afterwards
// every `__guest_call` runs on the same, still-running runtime, so package-level state lives as long
// as the instance. main is never called in this mode, which is why handlers are registered from init.
// A default (command) build would run main from `_start` and then exit the runtime, after which no
// export may be called.
//
// A handler's error, and a panic in a handler, are reported to the host as a guest error (the host's
// *actor.GuestError); an operation without a handler is reported the same way with ErrNotHandled. Only
// a fatal Go runtime error (out of memory, a deadlock, a stack overflow) traps the instance.
//
// The ABI is available only when GOOS is wasip1; on other platforms the package holds just its
// documentation and error types, so `go vet ./...` and `go doc` work on the host.
package guest
