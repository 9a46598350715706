#!/usr/bin/env bash
# Regenerates the cosign CLI fixtures in this directory: see README.md. Run from anywhere; needs cosign
# (v2.6.5, `go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5`) and openssl on PATH. Nothing
# leaves the machine: cosign pushes to an in-memory registry on 127.0.0.1 and uploads nothing to Rekor.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${reg_pid:-}" ] && kill "$reg_pid" 2>/dev/null || true' EXIT
cd "$work"

# Keys: an ECDSA P-256 pair as `cosign generate-key-pair` writes it, an Ed25519 pair imported into cosign,
# and another ECDSA pair whose signatures the tests must refuse. The private keys stay in $work, which is
# deleted at the end; only the public keys are kept.
export COSIGN_PASSWORD=fixture-only
cosign generate-key-pair --output-key-prefix ecdsa >/dev/null
cosign generate-key-pair --output-key-prefix other >/dev/null
openssl genpkey -algorithm ed25519 -out ed25519-openssl.pem
cosign import-key-pair --key ed25519-openssl.pem --output-key-prefix ed25519 >/dev/null

# The registry, without the referrers API, so that cosign also writes the sha256-<hex> referrers tag.
rec="$work/recording"
mkfifo out
# Built rather than run with `go run`, which would not pass on the SIGINT that ends it.
(cd "$root" && go build -o "$work/testregistry" ./internal/oci/ocitest/cmd/testregistry)
(cd "$root" && exec "$work/testregistry" -record "$rec" -root "$root" \
	-actor signed/ecdsa:0.1.0=testdata/actors/echo.wasm \
	-actor signed/ed25519:0.1.0=testdata/actors/echo.wasm \
	-actor signed/bundle-ecdsa:0.1.0=testdata/actors/echo.wasm \
	-actor signed/bundle-ed25519:0.1.0=testdata/actors/echo.wasm \
	-actor signed/oci11-ecdsa:0.1.0=testdata/actors/echo.wasm \
	-actor signed/other:0.1.0=testdata/actors/echo.wasm \
	-actor unsigned/echo:0.1.0=testdata/actors/echo.wasm \
	-actor signed/kvcounter:0.1.0=testdata/actors/kvcounter.wasm) >out &
reg_pid=$!
exec 3<out
read -r _ reg <&3
declare -A digest
while read -r word ref d <&3; do
	[ "$word" = actor ] || continue
	digest[$ref]=$d
	[ "${ref%:0.1.0}" = "$reg/signed/kvcounter" ] && break
done
ref() { echo "$reg/$1@${digest[$reg/$1:0.1.0]}"; }

sign() { cosign sign -y --tlog-upload=false --allow-http-registry --allow-insecure-registry "$@"; }
sign --key ecdsa.key "$(ref signed/ecdsa)"
sign --key ed25519.key "$(ref signed/ed25519)"
sign --key ecdsa.key --new-bundle-format "$(ref signed/bundle-ecdsa)"
sign --key ed25519.key --new-bundle-format "$(ref signed/bundle-ed25519)"
COSIGN_EXPERIMENTAL=1 sign --key ecdsa.key --registry-referrers-mode=oci-1-1 "$(ref signed/oci11-ecdsa)"
sign --key other.key "$(ref signed/other)"
sign --key ecdsa.key "$(ref signed/kvcounter)"

# Cosign's own verdict on what it wrote, with the public keys that are kept. Not for Ed25519: cosign
# v2.6.5 signs with Ed25519ph but `cosign verify --key` checks pure Ed25519 and refuses its own signature.
verify() { cosign verify --insecure-ignore-tlog=true --allow-http-registry --allow-insecure-registry "$@" >/dev/null; }
verify --key ecdsa.pub "$(ref signed/ecdsa)"
# A bundle is verified against a trusted root even with a key; an empty one is enough offline.
echo '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' >empty_root.json
verify --key ecdsa.pub --new-bundle-format --trusted-root empty_root.json "$(ref signed/bundle-ecdsa)"
COSIGN_EXPERIMENTAL=1 verify --key ecdsa.pub --experimental-oci11 "$(ref signed/oci11-ecdsa)"
verify --key other.pub "$(ref signed/other)"
if verify --key ecdsa.pub "$(ref signed/other)" 2>/dev/null; then echo "other key accepted" >&2; exit 1; fi

kill -INT "$reg_pid"
wait "$reg_pid"
reg_pid=

rm -rf "$here/blobs" "$here/pushes.json"
cp -r "$rec/blobs" "$rec/pushes.json" "$here/"
cp ecdsa.pub ed25519.pub other.pub "$here/"
echo "$reg" >"$here/registry.txt"
cosign version 2>/dev/null | grep -E 'GitVersion|GoVersion' >"$here/cosign-version.txt"
echo "regenerated $here"
