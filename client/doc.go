// Package client is everything a tool needs to talk to a lattice without being a host: Invoke sends one
// signed invocation to an actor and verifies the reply, LookupAlias resolves a call alias through the
// lattice bucket, and CtlClient speaks the 0.x control interface (hosts, inventories, auctions, links,
// claims, starting and stopping actors). The `call` and `ctl` commands are built on it, and so are the
// tests that drive hosts from outside.
//
// It shares the wire with the daemon through packages lattice (subjects, the bucket, the object store of
// chunked payloads), rpc (signing and verification) and control (the JSON messages), and never imports
// package host: a tool that makes a call does not link the daemon.
package client
