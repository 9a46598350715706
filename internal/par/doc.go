// Package par reads, verifies and writes provider archives (PAR), the files in which wasmCloud 0.x ships
// native capability providers.
//
// A provider archive is a tar file, usually gzipped (".par.gz"; compression is told by the gzip magic
// bytes, not by the name), whose entries are flat file names:
//
//   - claims.jwt: a wascap token signed by an account (iss A…) for the provider's service key (sub V…),
//     whose metadata names the provider, its capability contract (capid), vendor, revision and version,
//     and maps every target to the upper-case hex SHA-256 of its binary (target_hashes);
//   - <target>.bin: the provider executable for one platform, named as Rust names it,
//     "<std::env::consts::ARCH>-<std::env::consts::OS>": x86_64-linux, aarch64-macos, x86_64-windows, …;
//   - world.wasm: a WIT world, written only by wasmCloud 1.x tooling, hashed under the key "world.wasm".
//
// Read decodes an archive with hard bounds (entry count, entry size, total size, input and decompressed
// bytes), refuses anything but flat regular files with the names above, duplicates included, and
// computes each binary's hash while it streams past, keeping in memory only the binaries asked for. Verify
// then checks, in this order, the token's structure, that the issuer is an account key, the signature,
// the optional list of trusted issuers, that the token is a provider's, that the subject is a service key,
// the provider metadata, the time bounds, and finally that the archive holds a binary for the requested
// target whose hash is the signed one. Inspect does the same for every target, for tools.
//
// This is stricter than wasmCloud 0.x, whose host decodes claims.jwt without checking its signature or time
// bounds, takes any entry's file stem as a target (so "claims.txt" counts as the token), and panics on a
// binary whose target has no signed hash. Archives written by Write follow wasmCloud's own layout (GNU tar
// entries claims.jwt, then the binaries, in one gzip member), so wash and wasmCloud hosts read them, and
// the same inputs always give the same bytes.
package par
