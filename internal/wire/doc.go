// Package wire encodes and decodes the wasmCloud 0.x invocation envelope: the MessagePack map that
// carries an Invocation from one host (or provider) to another over NATS, and the
// InvocationResponse that comes back.
//
// It exists as a leaf package so that the signing and verification code in rpc/ can depend on an
// exact, allocation-conscious codec without knowing anything about NATS or wazero. The codecs are
// written by hand on top of the github.com/tinylib/msgp/msgp primitives rather than generated or
// reflected, for three reasons:
//
//   - Tolerance is a protocol decision. The 0.x peers disagree about key order, the MessagePack type
//     of msg (bin, str, or an empty array), whether content_length is present, and the format of
//     invocation ids. The decoder accepts every variant a real peer sends and nothing more.
//   - Ambiguity is a security decision. A duplicate key, trailing bytes or an oversized trace map
//     could be read differently by two decoders; these are refused with distinct sentinel errors so
//     that what is verified is exactly what is executed.
//   - Cost matters on the hot path: encoding into a reused buffer does not allocate, and decoding
//     never sizes an allocation from a length read off the wire.
//
// The invocation hash that the invocation claims token signs (see Invocation.Hash) and the entity
// URLs it is computed from live here too, since they are derived from the same fields byte for byte.
package wire
