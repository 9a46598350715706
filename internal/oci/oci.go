// Package oci pulls wasmCloud actors from OCI registries, the way wasmCloud 0.x hosts do, but refusing
// anything it cannot vouch for.
//
// An actor artifact, as `wash push` writes it, is an OCI image manifest whose config has the media type
// application/vnd.wasmcloud.actor.archive.config and whose single layer, of media type
// application/vnd.module.wasm.content.layer.v1+wasm, is the signed module. Pull fetches that layer with
// oras-go and checks what the transport cannot: the reference is pinned (no "latest" unless allowed), the
// manifest hashes to the @sha256: pin (a tag given with a pin must resolve to it) and to what the registry
// claims, the layer is the only one and of a WebAssembly type, it is not larger than the limit (checked
// before the download) and it hashes to its descriptor. HTTPS is the only transport unless a registry is
// listed as insecure.
//
// With a cosign Verifier (Config.Verifier or SetVerifier), Pull also requires a cosign signature of the
// manifest digest it pulled, by a trusted key or identity, before it downloads the module: an artifact
// without one fails with ErrSignature and a *cosign.Error saying why. Signatures are fetched through the
// same client, credentials and limits as the artifact.
//
// Pull does not verify the module's own (wascap) signature: the host runs actor.Verify on the bytes,
// exactly as it does for a file, so a registry is never trusted for what the module may do.
package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// Media types of a wasmCloud actor artifact.
const (
	// MediaTypeActorConfig is the config media type wash gives actor artifacts; the config holds "{}".
	MediaTypeActorConfig = "application/vnd.wasmcloud.actor.archive.config"
	// MediaTypeWasmLayer is the media type of the layer holding the signed module.
	MediaTypeWasmLayer = "application/vnd.module.wasm.content.layer.v1+wasm"
	// MediaTypeWasm is the generic WebAssembly media type, accepted for the layer as well.
	MediaTypeWasm = "application/wasm"
	// MediaTypeProviderConfig and MediaTypeProviderLayer are the config and layer media types wash gives a
	// capability provider archive (the layer is the .par.gz file).
	MediaTypeProviderConfig = "application/vnd.wasmcloud.provider.archive.config"
	MediaTypeProviderLayer  = "application/vnd.wasmcloud.provider.archive.layer.v1+par"
)

// DefaultProviderMaxSize is the provider archive size limit when Config.ProviderMaxSize is zero: 512 MiB,
// room for a provider's binaries for several platforms.
const DefaultProviderMaxSize = 512 << 20

// DefaultMaxSize is the module size limit when Config.MaxSize is zero: 64 MiB, far above any actor.
const DefaultMaxSize = 64 << 20

// maxManifestSize bounds the manifest read; an actor manifest is a few hundred bytes.
const maxManifestSize = 4 << 20

// userAgent is sent with every registry request.
const userAgent = "wasmcloud-host"

// Config is how a Client reaches registries. The zero value pulls pinned references over HTTPS with the
// system roots, anonymously, up to DefaultMaxSize.
type Config struct {
	// AllowLatest allows references tagged "latest" or with no tag and no digest (which means latest).
	AllowLatest bool
	// Insecure lists registries, host[:port] as written in references (compared case-insensitively, the
	// port included), that are reached over plain HTTP. Every other registry is reached over HTTPS only.
	Insecure []string
	// RootCAs verifies registry certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// Credentials are per registry (host[:port]); registries not listed are accessed anonymously.
	Credentials map[string]Credentials
	// MaxSize is the largest module accepted, in bytes; zero or less means DefaultMaxSize.
	MaxSize int64
	// ProviderMaxSize is the largest provider archive accepted, in bytes; zero or less means
	// DefaultProviderMaxSize.
	ProviderMaxSize int64
	// Verifier, when not nil, requires every artifact to carry a cosign signature it accepts (see
	// cosign.Load); SetVerifier replaces it.
	Verifier *cosign.Verifier
}

// Credentials authenticate to one registry: Username and Password for basic auth or a token exchange, or
// Token, a bearer token sent to the registry as it is.
type Credentials struct {
	Username string
	Password string
	Token    string
}

// String never shows the password or the token.
func (c Credentials) String() string {
	switch {
	case c.Token != "":
		return "token [redacted]"
	case c.Username != "":
		return "user " + c.Username + " password [redacted]"
	}
	return "anonymous"
}

// GoString is String, so that %#v shows no secret either.
func (c Credentials) GoString() string { return c.String() }

// Client pulls actor artifacts. It is safe for concurrent use; connections are reused across pulls.
type Client struct {
	allowLatest bool
	insecure    map[string]bool // lower-cased host[:port]; read-only after New
	maxSize     int64
	// maxProviderSize bounds provider archives.
	maxProviderSize int64
	httpClient      *http.Client

	verifier atomic.Pointer[cosign.Verifier] // nil: no signature required

	mu    sync.RWMutex
	creds map[string]Credentials // guarded by mu; by lower-cased registry
	auth  *auth.Client           // guarded by mu; replaced (with a fresh token cache) by SetCredentials
}

// New returns a Client for cfg. It does no I/O.
func New(cfg Config) *Client {
	c := &Client{
		allowLatest: cfg.AllowLatest,
		insecure:    make(map[string]bool, len(cfg.Insecure)),
		maxSize:     cfg.MaxSize,
		creds:       make(map[string]Credentials, len(cfg.Credentials)),
	}
	if c.maxSize <= 0 {
		c.maxSize = DefaultMaxSize
	}
	c.maxProviderSize = cfg.ProviderMaxSize
	if c.maxProviderSize <= 0 {
		c.maxProviderSize = DefaultProviderMaxSize
	}
	for _, r := range cfg.Insecure {
		c.insecure[strings.ToLower(strings.TrimSpace(r))] = true
	}
	for r, cr := range cfg.Credentials {
		c.creds[strings.ToLower(r)] = cr
	}

	var transport *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = dt.Clone()
	} else {
		transport = &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	}
	transport.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	// retry retries 5xx, 429 and dial timeouts with backoff, never a refused connection or a TLS failure.
	c.httpClient = &http.Client{Transport: retry.NewTransport(transport)}
	c.auth = c.newAuth()
	c.verifier.Store(cfg.Verifier)
	return c
}

// SetVerifier replaces the cosign verifier (nil: no signature required), as a configuration reload does.
// It is safe to call while pulls run: a pull uses the verifier that was set when it started.
func (c *Client) SetVerifier(v *cosign.Verifier) { c.verifier.Store(v) }

// Verifier returns the cosign verifier in use, or nil.
func (c *Client) Verifier() *cosign.Verifier { return c.verifier.Load() }

// newAuth returns an auth client with an empty token cache that resolves credentials from c.creds.
func (c *Client) newAuth() *auth.Client {
	a := &auth.Client{
		Client:     c.httpClient,
		Cache:      auth.NewCache(),
		Credential: c.credential,
	}
	a.SetUserAgent(userAgent)
	return a
}

// SetCredentials sets (or, with the zero Credentials, removes) the credentials for registry, host[:port],
// as the control interface's registries.put does. Tokens cached from earlier credentials are dropped, so
// the next pull uses the new ones. It is safe to call while pulls run; a pull already under way may finish
// with the old credentials.
func (c *Client) SetCredentials(registry string, cr Credentials) {
	registry = strings.ToLower(strings.TrimSpace(registry))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cr == (Credentials{}) {
		delete(c.creds, registry)
	} else {
		c.creds[registry] = cr
	}
	c.auth = c.newAuth()
}

// CloseIdleConnections closes the connections kept open for reuse; the host calls it at shutdown. The
// Client stays usable.
func (c *Client) CloseIdleConnections() { c.httpClient.CloseIdleConnections() }

// credential is the oras auth.CredentialFunc: hostport is the host the request went to.
func (c *Client) credential(_ context.Context, hostport string) (auth.Credential, error) {
	hostport = strings.ToLower(hostport)
	c.mu.RLock()
	cr, ok := c.creds[hostport]
	if !ok && hostport == "registry-1.docker.io" {
		// oras sends docker.io references to registry-1.docker.io; credentials are given for docker.io.
		cr, ok = c.creds["docker.io"]
	}
	c.mu.RUnlock()
	if !ok {
		return auth.EmptyCredential, nil
	}
	return auth.Credential{Username: cr.Username, Password: cr.Password, AccessToken: cr.Token}, nil
}

// authClient returns the current auth client.
func (c *Client) authClient() *auth.Client {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.auth
}
