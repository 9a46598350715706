// Package integration tests the wasmcloud-host binary from the outside, the way its users meet it: the
// tests build the binary once, start several hosts as separate processes against real in-process
// nats-servers, and speak to them only over NATS and through the binary's own commands (`call`,
// `claims sign`). Nothing here imports the host package, so a test passes only if the daemon as shipped
// works: its environment variables, its readiness line, its exit statuses, its refusals on the wire and
// its shutdown.
//
// The package holds no code of its own; everything is in its _test.go files.
package integration
