// Package control holds the messages of the wasmCloud 0.x control interface: the JSON requests and replies
// that tools and hosts exchange on {prefix}.{lattice}.* (ping.hosts, get.links, linkdefs.put, cmd.{host}.la,
// …), and DecodeCtl, the one decoder the host's control server runs on every request.
//
// It is a leaf: the host (the server side), package client (the tools' side) and package lattice (which
// stores link definitions) all speak these types, and none of them has to import another to do so. The
// MessagePack invocation envelope is a different protocol and lives in internal/wire.
package control
