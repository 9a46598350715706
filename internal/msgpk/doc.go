// Package msgpk holds the MessagePack reading helpers that the hand-written decoders of package
// wire (the invocation envelope) and package capability/contract (the capability payloads) share.
//
// Both decoders walk their input with the github.com/tinylib/msgp/msgp primitives and must refuse
// malformed, truncated and mistyped input with errors that say what was wrong, without allocating
// on the success path. The checks that come before every primitive (is this a str, is the input
// empty, is this the unused prefix byte 0xc1), the iterative skipping of unknown values and the
// single-allocation copying of decoded strings are the same in both, so they live here once.
//
// The package has no sentinel errors of its own on purpose: callers test the errors of wire and
// contract with errors.Is, so each reader is a method of Sentinels, which carries the calling
// package's sentinel errors and wraps them. The readers know nothing about field paths either;
// the caller wraps every error with the path of the field it was reading, and only on the error
// path, so that decoding a valid input builds no strings.
package msgpk
