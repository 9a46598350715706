// Package contract defines the wasmCloud 0.x capability contracts that the host provides itself —
// httpserver, keyvalue, messaging, logging and numbergen: their contract ids, their operation names,
// and the MessagePack codecs of their payloads. These are the bytes an actor passes to __host_call
// and receives from __guest_call, as opposed to the invocation envelope around them
// (internal/wire). Actors written with actor/guest and the host's built-in providers
// (capability/...) both speak them through this package.
//
// 0.x actors are Rust programs whose interface crates are generated from Smithy models and
// serialized with rmp-serde as MessagePack maps with camelCase keys. The host has to speak that
// format exactly, so the codecs are written by hand on the github.com/tinylib/msgp/msgp primitives,
// in the same way and for the same reasons as package wire:
//
//   - Tolerance is decided field by field from what real actors send and what the Rust models
//     accept: keys in any order, unknown keys skipped, a Blob as bin or str, integers in any
//     MessagePack width as long as the value fits, and a key absent exactly where the Rust model
//     has a default (every field except the HTTP header maps and RequestMessage.timeoutMs).
//   - Ambiguity is refused: a duplicate key or header name, a value of the wrong type, an integer
//     out of range, or trailing bytes. Every refusal names the field.
//   - The encoders write what current rmp-serde writes (Smithy field order, shortest integers, Blobs
//     as bin), so that the recorded transcripts of the fixture actors are reproduced byte for byte,
//     and header names are sorted so that one value has one encoding.
//
// Decoded byte fields (bodies) alias the input, to keep large payloads copy-free on the hot path;
// strings never do.
package contract
