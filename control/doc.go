// Package control holds the messages of the wasmCloud 0.x control interface: the JSON requests and replies
// that tools and hosts exchange on {prefix}.{lattice}.* (ping.hosts, get.links, linkdefs.put, cmd.{host}.la,
// …), and DecodeCtl, the one decoder the host's control server runs on every request.
//
// It also signs and verifies control requests (token.go): a Signer makes the token a tool sends in the
// TokenHeader NATS header, bound to the request's subject and body, and a Verifier checks it against the
// operator and account keys a host trusts (WASMCLOUD_CTL_ISSUERS). The body stays the 0.x JSON.
//
// It is a leaf: the host (the server side), package client (the tools' side) and package lattice (which
// stores link definitions) all speak these types, and none of them has to import another to do so. The
// MessagePack invocation envelope is a different protocol and lives in internal/wire.
package control
