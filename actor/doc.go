// Package actor runs wasmCloud 0.x actors: WebAssembly modules that speak the wasmbus guest ABI (and
// its waPC ancestor), executed by wazero.
//
// The package exists to keep everything about executing untrusted guest code in one place, behind a
// small API that knows nothing of NATS: a Runtime compiles modules once (optionally caching the
// machine code on disk), an Actor runs calls against a bounded pool of instances, and the guest's
// outbound calls leave through a callback the host provides. Each call has a deadline, each instance
// a memory limit, and a guest that traps, loops or breaks the ABI fails only its own call: its
// instance is discarded and the host, the Actor and other actors carry on. Libraries do not log;
// every failure is returned as an error from errors.go.
package actor
