// Package config reads the host's configuration from WASMCLOUD_* environment variables, once, at
// start, and validates it in one place.
//
// The variable names and defaults are wasmCloud 0.x's, so that scripts and systemd units written
// for a 0.x host keep working; a few variables are our own extensions (TLS files, signed-invocation
// tuning). Unlike 0.x, a bad value never falls back silently to a default: Load reports every
// problem at once, each naming its variable (and its value, unless the value is secret), and the
// host refuses to start. Seeds and JWTs are held in Secret, which prints as "[redacted]" however a
// Config is printed, encoded or logged.
//
// The other packages take the part of Config they need, by value; config itself imports none of
// them and does no I/O beyond reading the environment and the files the environment names.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
)

// Config is the validated host configuration. Load and LoadFrom return it; a Config built by hand
// (in tests) can be checked with Validate.
type Config struct {
	// LatticePrefix is the lattice id used in every subject (WASMCLOUD_LATTICE_PREFIX).
	LatticePrefix string
	// HostSeed is the SN… seed of the host identity; unset means "generate one".
	HostSeed Secret
	// ClusterSeed is the SC… seed that signs invocations, from WASMCLOUD_CLUSTER_SEED or read
	// from the file WASMCLOUD_CLUSTER_SEED_FILE names; unset means "generate one".
	ClusterSeed Secret
	// ClusterSeedFile is the path the cluster seed was read from, if any.
	ClusterSeedFile string
	// ClusterIssuers are the configured C… keys whose invocations are accepted (the own cluster
	// key is added by the host, not here). Duplicates are removed; order is kept.
	ClusterIssuers []string

	// RPC is the NATS connection for actor invocations.
	RPC NATSConn
	// RPCTimeout bounds an outgoing RPC request (WASMCLOUD_RPC_TIMEOUT_MS).
	RPCTimeout time.Duration
	// CTL is the NATS connection for the control interface, separate from RPC.
	CTL NATSConn
	// CtlTopicPrefix is the control subject prefix (WASMCLOUD_CTL_TOPIC_PREFIX).
	CtlTopicPrefix string
	// NATSEmbedded says whether to start an embedded nats-server (WASMCLOUD_NATS_EMBEDDED).
	NATSEmbedded EmbeddedMode

	// StateDir holds the embedded JetStream store and the compilation cache; always absolute.
	StateDir string
	// AllowFileLoad allows actor references that are local file paths.
	AllowFileLoad bool
	// JSDomain is the JetStream domain for lattice state, if any.
	JSDomain string
	// PolicyTopic is the subject of the policy service; empty means no policy service.
	PolicyTopic string
	// PolicyTimeout bounds a policy request (WASMCLOUD_POLICY_TIMEOUT, milliseconds).
	PolicyTimeout time.Duration
	// PolicyChangesTopic is where the policy service announces changed decisions; empty: none.
	PolicyChangesTopic string
	// PolicyEndpoint is the URL of an OPA data API document asked over HTTP; empty: none.
	PolicyEndpoint string
	// StartActors are actor references started at boot.
	StartActors []string
	// OCI configures how actors are pulled from OCI registries.
	OCI OCIConfig
	// Labels are the host labels: one per HOST_* variable (key lower-cased) plus hostcore.arch,
	// hostcore.os and hostcore.osfamily.
	Labels map[string]string

	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// StructuredLogging selects JSON logs instead of text.
	StructuredLogging bool

	// InvocationValidity is exp − iat of the invocation tokens the host signs, and the maximum
	// age of a 0.x token that carries no exp.
	InvocationValidity time.Duration
	// ClockSkew is the tolerance applied to iat, nbf and exp of received tokens.
	ClockSkew time.Duration
	// ReplayCacheSize is the number of invocation ids remembered to refuse replays.
	ReplayCacheSize int
	// ReplayScope says whether accepted invocations are also recorded lattice-wide.
	ReplayScope ReplayScope
	// RequireSignedResponses refuses invocation responses that carry no valid signature (on by default; off
	// only to talk to 0.x hosts, which cannot sign).
	RequireSignedResponses bool
	// KVAllowedBuckets lists the key-value buckets (names or path.Match patterns) links may name; empty: any
	// bucket but the lattice's own.
	KVAllowedBuckets []string
	// KVBucketMaxBytes and KVMaxValueSize bound the key-value buckets the host creates for links.
	KVBucketMaxBytes int64
	KVMaxValueSize   int64

	// CtlIssuers are the operator (O…) and account (A…) keys whose signed control requests the host
	// accepts (WASMCLOUD_CTL_ISSUERS). Empty: requests are not checked, as in 0.x.
	CtlIssuers []string
	// CtlIssuerSeed is the SO… or SA… seed the ctl commands sign control requests with, from
	// WASMCLOUD_CTL_ISSUER_SEED or read from the file WASMCLOUD_CTL_ISSUER_SEED_FILE names.
	CtlIssuerSeed Secret
	// CtlIssuerSeedFile is the path the control issuer seed was read from, if any.
	CtlIssuerSeedFile string
	// CtlTokenValidity is the lifetime of the control tokens ctl signs, and the longest a host honours
	// one after its iat (WASMCLOUD_CTL_TOKEN_VALIDITY).
	CtlTokenValidity time.Duration
	// ClusterIssuersFile, ActorIssuersFile and CtlIssuersFile name files of further keys, one per line, merged
	// into ClusterIssuers, ActorIssuers and CtlIssuers (a process's environment cannot change, so these are
	// what a reload re-reads).
	ClusterIssuersFile, ActorIssuersFile, CtlIssuersFile string
	// RevocationsFile is WASMCLOUD_REVOCATIONS_FILE, and Revocations what it revokes (nil without one).
	RevocationsFile string
	Revocations     *revoke.List
	// Cosign says which signatures an OCI artifact must carry (WASMCLOUD_COSIGN_*), and CosignVerifier is it
	// loaded (nil: no signature required).
	Cosign         cosign.Config
	CosignVerifier *cosign.Verifier
	// ActorIssuers are the account keys (A…) whose actors may start on this host
	// (WASMCLOUD_ACTOR_ISSUERS). Empty: any issuer.
	ActorIssuers []string
	// AdminAddress is the host:port of the admin listener (/metrics, /healthz, /readyz); empty: none.
	AdminAddress string
	// Pprof serves the Go runtime's profiles (net/http/pprof, under /debug/pprof/) on the admin listener, which
	// must then be on a loopback address (WASMCLOUD_PPROF).
	Pprof bool
	// JSReplicas is the replica count of the JetStream buckets the host creates; 0 means auto: 3 when the
	// NATS server is part of a cluster that can hold them, 1 otherwise (WASMCLOUD_JS_REPLICAS).
	JSReplicas int
	// ProviderIssuers are the account keys (A…) whose provider archives may run on this host
	// (WASMCLOUD_PROVIDER_ISSUERS). Empty: ActorIssuers applies to providers too.
	ProviderIssuers []string
	// ProviderClusterSeed hands the cluster seed to provider processes as their invocation_seed, as 0.x does
	// (WASMCLOUD_PROVIDER_CLUSTER_SEED), instead of a delegated key of their own.
	ProviderClusterSeed bool
	// ProviderUnconfined runs provider processes without the Landlock sandbox (WASMCLOUD_PROVIDER_SANDBOX=false).
	// The zero value confines them.
	ProviderUnconfined bool
}

// NATSConn is the configuration of one NATS connection (RPC or CTL).
type NATSConn struct {
	// Host and Port locate the server.
	Host string
	Port int
	// URLs, when set, are the servers to use instead of Host and Port (WASMCLOUD_{RPC,CTL}_URLS): the
	// client tries them in random order at start and at every reconnect.
	URLs []string
	// Explicit is true when WASMCLOUD_{RPC,CTL}_HOST, _PORT or _URLS was set, which rules out starting an
	// embedded server in "auto" mode.
	Explicit bool
	// Seed is an SU… user seed: with JWT it is user-JWT authentication, alone it is nkey
	// authentication (the server's nonce is signed).
	Seed Secret
	// JWT is a NATS user JWT; it needs Seed.
	JWT Secret
	// CredsFile is a NATS .creds file (JWT and seed); it excludes Seed and JWT.
	CredsFile string
	// TLS requires TLS; it is also true when any TLS file is set.
	TLS bool
	// TLSCA is a PEM file of CA certificates to verify the server with (system roots otherwise).
	TLSCA string
	// TLSCert and TLSKey are a PEM client certificate and its key, set together.
	TLSCert string
	TLSKey  string
}

// OCIConfig is the configuration of actor pulls from OCI registries (WASMCLOUD_OCI_*).
type OCIConfig struct {
	// AllowLatest allows actor references tagged latest or without a tag.
	AllowLatest bool
	// AllowedInsecure are the registries, host[:port], that may be reached over plain HTTP.
	// Duplicates are removed; order is kept.
	AllowedInsecure []string
	// Registry is the registry, host[:port], that User and Password are for; it is set whenever they are.
	Registry string
	// User and Password authenticate to Registry; they are set together.
	User     string
	Password Secret
}

// URL returns the connection's URL: tls://host:port when TLS is on, nats://host:port otherwise, or the
// URLs joined with commas when they are set.
func (n NATSConn) URL() string {
	if len(n.URLs) > 0 {
		return strings.Join(n.URLs, ",")
	}
	scheme := "nats"
	if n.TLS {
		scheme = "tls"
	}
	return scheme + "://" + joinHostPort(n.Host, n.Port)
}

// NATSConfigured reports whether the host or port of either NATS connection was set explicitly,
// the condition under which "auto" never starts an embedded server.
func (c Config) NATSConfigured() bool { return c.RPC.Explicit || c.CTL.Explicit }

// Wipe overwrites every secret in c (and in every copy of c, which share them).
func (c Config) Wipe() {
	for _, s := range []Secret{c.HostSeed, c.ClusterSeed, c.RPC.Seed, c.RPC.JWT, c.CTL.Seed, c.CTL.JWT, c.OCI.Password, c.CtlIssuerSeed} {
		s.Wipe()
	}
}

// Names of the variables whose checks span several fields or need the name outside the spec.
const (
	envLatticePrefix      = "WASMCLOUD_LATTICE_PREFIX"
	envHostSeed           = "WASMCLOUD_HOST_SEED"
	envClusterSeed        = "WASMCLOUD_CLUSTER_SEED"
	envClusterSeedFile    = "WASMCLOUD_CLUSTER_SEED_FILE"
	envClusterIssuers     = "WASMCLOUD_CLUSTER_ISSUERS"
	envRPC                = "WASMCLOUD_RPC"
	envCTL                = "WASMCLOUD_CTL"
	envRPCTimeout         = "WASMCLOUD_RPC_TIMEOUT_MS"
	envCtlTopicPrefix     = "WASMCLOUD_CTL_TOPIC_PREFIX"
	envNATSEmbedded       = "WASMCLOUD_NATS_EMBEDDED"
	envStateDir           = "WASMCLOUD_STATE_DIR"
	envJSDomain           = "WASMCLOUD_JS_DOMAIN"
	envPolicyTopic        = "WASMCLOUD_POLICY_TOPIC"
	envPolicyTimeout      = "WASMCLOUD_POLICY_TIMEOUT"
	envPolicyChanges      = "WASMCLOUD_POLICY_CHANGES_TOPIC"
	envPolicyEndpoint     = "WASMCLOUD_POLICY_SERVICE_ENDPOINT"
	envLogLevel           = "WASMCLOUD_LOG_LEVEL"
	envInvValidity        = "WASMCLOUD_INVOCATION_VALIDITY"
	envClockSkew          = "WASMCLOUD_CLOCK_SKEW"
	envReplayCacheSize    = "WASMCLOUD_REPLAY_CACHE_SIZE"
	envKVBuckets          = "WASMCLOUD_KV_ALLOWED_BUCKETS"
	envClusterIssuersFile = "WASMCLOUD_CLUSTER_ISSUERS_FILE"
	envActorIssuersFile   = "WASMCLOUD_ACTOR_ISSUERS_FILE"
	envCtlIssuersFile     = "WASMCLOUD_CTL_ISSUERS_FILE"
	envRevocationsFile    = "WASMCLOUD_REVOCATIONS_FILE"
	envKVMaxValue         = "WASMCLOUD_KV_MAX_VALUE_SIZE"
	envOCIInsecure        = "WASMCLOUD_OCI_ALLOWED_INSECURE"
	envOCIRegistry        = "WASMCLOUD_OCI_REGISTRY"
	envOCIUser            = "WASMCLOUD_OCI_REGISTRY_USER"
	envOCIPassword        = "WASMCLOUD_OCI_REGISTRY_PASSWORD"
	labelPrefix           = "HOST_"
	envAdminAddress       = "WASMCLOUD_ADMIN_ADDRESS"
	envPprof              = "WASMCLOUD_PPROF"
	envJSReplicas         = "WASMCLOUD_JS_REPLICAS"
)

// spec lists every variable, in --help order. The `envconfig` tag is the name, `def` the default
// applied when the variable is unset (not envconfig's `default`, so that envconfig only reports
// what is really in the environment), `show` the default as --help describes it when there is no
// literal one, and `help` the one-line meaning.
type spec struct {
	LatticePrefix   envVar[text, *text]     `envconfig:"WASMCLOUD_LATTICE_PREFIX" def:"default" help:"lattice id used in every subject (one NATS subject token)"`
	HostSeed        envVar[Secret, *Secret] `envconfig:"WASMCLOUD_HOST_SEED" show:"generated" help:"SN… seed of the host identity"`
	ClusterSeed     envVar[Secret, *Secret] `envconfig:"WASMCLOUD_CLUSTER_SEED" show:"generated" help:"SC… seed that signs invocations (generated: single-node lattice)"`
	ClusterSeedFile envVar[text, *text]     `envconfig:"WASMCLOUD_CLUSTER_SEED_FILE" help:"file holding the cluster seed (systemd LoadCredential=); excludes WASMCLOUD_CLUSTER_SEED"`
	ClusterIssuers  envVar[list, *list]     `envconfig:"WASMCLOUD_CLUSTER_ISSUERS" show:"own cluster key" help:"comma-separated C… keys whose invocations are accepted; the own key is always added"`

	RPCHost      envVar[text, *text]     `envconfig:"WASMCLOUD_RPC_HOST" def:"127.0.0.1" help:"RPC NATS server host"`
	RPCPort      envVar[port, *port]     `envconfig:"WASMCLOUD_RPC_PORT" def:"4222" help:"RPC NATS server port"`
	RPCSeed      envVar[Secret, *Secret] `envconfig:"WASMCLOUD_RPC_SEED" help:"SU… user seed for RPC: nkey auth alone, user-JWT auth with _JWT"`
	RPCJWT       envVar[Secret, *Secret] `envconfig:"WASMCLOUD_RPC_JWT" help:"NATS user JWT for RPC (needs _SEED)"`
	RPCCredsFile envVar[text, *text]     `envconfig:"WASMCLOUD_RPC_CREDSFILE" help:"NATS .creds file for RPC (excludes _SEED and _JWT)"`
	RPCTLS       envVar[Bool, *Bool]     `envconfig:"WASMCLOUD_RPC_TLS" def:"false" help:"require TLS for RPC (implied by any _TLS_* file)"`
	RPCTLSCA     envVar[text, *text]     `envconfig:"WASMCLOUD_RPC_TLS_CA" show:"system roots" help:"PEM CA file to verify the RPC server"`
	RPCTLSCert   envVar[text, *text]     `envconfig:"WASMCLOUD_RPC_TLS_CERT" help:"PEM client certificate for RPC (with _TLS_KEY)"`
	RPCTLSKey    envVar[text, *text]     `envconfig:"WASMCLOUD_RPC_TLS_KEY" help:"PEM client key for RPC (with _TLS_CERT)"`
	RPCTimeout   envVar[millis, *millis] `envconfig:"WASMCLOUD_RPC_TIMEOUT_MS" def:"2000" help:"RPC request timeout, milliseconds"`
	RPCURLs      envVar[list, *list]     `envconfig:"WASMCLOUD_RPC_URLS" show:"_HOST:_PORT" help:"comma-separated RPC NATS servers (nats://h:p, tls://h:p or h:p); excludes _HOST and _PORT"`

	CTLHost      envVar[text, *text]     `envconfig:"WASMCLOUD_CTL_HOST" def:"127.0.0.1" help:"control NATS server host"`
	CTLPort      envVar[port, *port]     `envconfig:"WASMCLOUD_CTL_PORT" def:"4222" help:"control NATS server port"`
	CTLSeed      envVar[Secret, *Secret] `envconfig:"WASMCLOUD_CTL_SEED" help:"SU… user seed for control: nkey auth alone, user-JWT auth with _JWT"`
	CTLJWT       envVar[Secret, *Secret] `envconfig:"WASMCLOUD_CTL_JWT" help:"NATS user JWT for control (needs _SEED)"`
	CTLCredsFile envVar[text, *text]     `envconfig:"WASMCLOUD_CTL_CREDSFILE" help:"NATS .creds file for control (excludes _SEED and _JWT)"`
	CTLTLS       envVar[Bool, *Bool]     `envconfig:"WASMCLOUD_CTL_TLS" def:"false" help:"require TLS for control (implied by any _TLS_* file)"`
	CTLTLSCA     envVar[text, *text]     `envconfig:"WASMCLOUD_CTL_TLS_CA" show:"system roots" help:"PEM CA file to verify the control server"`
	CTLTLSCert   envVar[text, *text]     `envconfig:"WASMCLOUD_CTL_TLS_CERT" help:"PEM client certificate for control (with _TLS_KEY)"`
	CTLTLSKey    envVar[text, *text]     `envconfig:"WASMCLOUD_CTL_TLS_KEY" help:"PEM client key for control (with _TLS_CERT)"`
	CTLURLs      envVar[list, *list]     `envconfig:"WASMCLOUD_CTL_URLS" show:"_HOST:_PORT" help:"comma-separated control NATS servers (nats://h:p, tls://h:p or h:p); excludes _HOST and _PORT"`

	CtlTopicPrefix envVar[text, *text] `envconfig:"WASMCLOUD_CTL_TOPIC_PREFIX" def:"wasmbus.ctl" help:"control subject prefix"`

	CtlIssuers         envVar[list, *list]                 `envconfig:"WASMCLOUD_CTL_ISSUERS" show:"unchecked (0.x)" help:"comma-separated O…/A… keys, one of which must sign every control request that changes the lattice"`
	CtlIssuerSeed      envVar[Secret, *Secret]             `envconfig:"WASMCLOUD_CTL_ISSUER_SEED" help:"SO…/SA… seed the ctl commands sign control requests with"`
	CtlIssuerSeedFile  envVar[text, *text]                 `envconfig:"WASMCLOUD_CTL_ISSUER_SEED_FILE" help:"file (mode 0600) holding the control issuer seed; excludes WASMCLOUD_CTL_ISSUER_SEED"`
	CtlTokenValidity   envVar[duration, *duration]         `envconfig:"WASMCLOUD_CTL_TOKEN_VALIDITY" def:"60s" help:"lifetime of signed control requests; the longest a host honours one"`
	ClusterIssuersFile envVar[text, *text]                 `envconfig:"WASMCLOUD_CLUSTER_ISSUERS_FILE" help:"file of further C… keys, one per line, merged into WASMCLOUD_CLUSTER_ISSUERS (re-read on SIGHUP)"`
	ActorIssuersFile   envVar[text, *text]                 `envconfig:"WASMCLOUD_ACTOR_ISSUERS_FILE" help:"file of further A… keys, one per line, merged into WASMCLOUD_ACTOR_ISSUERS (re-read on SIGHUP)"`
	CtlIssuersFile     envVar[text, *text]                 `envconfig:"WASMCLOUD_CTL_ISSUERS_FILE" help:"file of further O…/A… keys, one per line, merged into WASMCLOUD_CTL_ISSUERS (re-read on SIGHUP)"`
	RevocationsFile    envVar[text, *text]                 `envconfig:"WASMCLOUD_REVOCATIONS_FILE" help:"revoked keys, one per line, optionally with an RFC 3339 time before which their tokens are refused (re-read on SIGHUP)"`
	CosignPublicKeys   envVar[list, *list]                 `envconfig:"WASMCLOUD_COSIGN_PUBLIC_KEYS" help:"comma-separated PEM public key files: OCI artifacts must carry a cosign signature by one of them"`
	CosignTrustedRoot  envVar[text, *text]                 `envconfig:"WASMCLOUD_COSIGN_TRUSTED_ROOT" help:"sigstore trusted_root.json for keyless cosign signatures (with an identity and an OIDC issuer)"`
	CosignIdentity     envVar[text, *text]                 `envconfig:"WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY" help:"keyless: the signer's certificate identity"`
	CosignIdentityRE   envVar[text, *text]                 `envconfig:"WASMCLOUD_COSIGN_CERTIFICATE_IDENTITY_REGEXP" help:"keyless: a regular expression the whole identity must match"`
	CosignIssuer       envVar[text, *text]                 `envconfig:"WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER" help:"keyless: the OIDC issuer of the signer's certificate"`
	CosignIssuerRE     envVar[text, *text]                 `envconfig:"WASMCLOUD_COSIGN_CERTIFICATE_OIDC_ISSUER_REGEXP" help:"keyless: a regular expression the whole OIDC issuer must match"`
	ActorIssuers       envVar[list, *list]                 `envconfig:"WASMCLOUD_ACTOR_ISSUERS" show:"any issuer" help:"comma-separated A… keys whose actors may start on this host"`
	ProviderIssuers    envVar[list, *list]                 `envconfig:"WASMCLOUD_PROVIDER_ISSUERS" show:"WASMCLOUD_ACTOR_ISSUERS" help:"comma-separated A… keys whose provider archives may run on this host"`
	ProvClusterSeed    envVar[Bool, *Bool]                 `envconfig:"WASMCLOUD_PROVIDER_CLUSTER_SEED" def:"false" help:"hand providers the cluster seed as 0.x does (for 0.x hosts in the lattice), instead of a delegated key"`
	ProvSandbox        envVar[Bool, *Bool]                 `envconfig:"WASMCLOUD_PROVIDER_SANDBOX" def:"true" help:"confine provider processes with Landlock (their own directory, system libraries; no seeds, state or /proc); when the kernel has no Landlock, providers are refused unless false"`
	NATSEmbedded       envVar[EmbeddedMode, *EmbeddedMode] `envconfig:"WASMCLOUD_NATS_EMBEDDED" def:"auto" help:"auto|true|false; auto starts nats-server+JetStream if no RPC/CTL host/port is set and 127.0.0.1:4222 is free"`

	StateDir      envVar[text, *text]         `envconfig:"WASMCLOUD_STATE_DIR" show:"$STATE_DIRECTORY" help:"JetStream store and compilation cache (else $XDG_STATE_HOME/wasmcloud-host, else ~/.local/state/wasmcloud-host)"`
	AllowFileLoad envVar[Bool, *Bool]         `envconfig:"WASMCLOUD_ALLOW_FILE_LOAD" def:"false" help:"allow actor references that are local file paths"`
	JSDomain      envVar[text, *text]         `envconfig:"WASMCLOUD_JS_DOMAIN" help:"JetStream domain for lattice state"`
	JSReplicas    envVar[replicas, *replicas] `envconfig:"WASMCLOUD_JS_REPLICAS" def:"auto" help:"replicas of the JetStream buckets the host creates: 1..5, or auto (3 in a cluster that can hold them, else 1)"`
	PolicyTopic   envVar[text, *text]         `envconfig:"WASMCLOUD_POLICY_TOPIC" help:"policy service subject (fail closed); unset: no policy service"`
	PolicyTimeout envVar[millis, *millis]     `envconfig:"WASMCLOUD_POLICY_TIMEOUT" def:"1000" help:"policy request timeout, milliseconds"`
	PolicyChanges envVar[text, *text]         `envconfig:"WASMCLOUD_POLICY_CHANGES_TOPIC" help:"subject on which the policy service announces changed decisions"`
	PolicyURL     envVar[text, *text]         `envconfig:"WASMCLOUD_POLICY_SERVICE_ENDPOINT" help:"OPA data API URL asked over HTTP (fail closed), e.g. http://127.0.0.1:8181/v1/data/wasmcloud"`
	StartActors   envVar[list, *list]         `envconfig:"WASMCLOUD_START_ACTORS" help:"comma-separated actor references started at boot"`

	OCIAllowLatest      envVar[Bool, *Bool]     `envconfig:"WASMCLOUD_OCI_ALLOW_LATEST" def:"false" help:"allow actor references tagged latest or without a tag"`
	OCIAllowedInsecure  envVar[list, *list]     `envconfig:"WASMCLOUD_OCI_ALLOWED_INSECURE" help:"comma-separated registries (host[:port]) that may be reached over plain HTTP"`
	OCIRegistry         envVar[text, *text]     `envconfig:"WASMCLOUD_OCI_REGISTRY" help:"registry (host[:port]) that _USER and _PASSWORD are for"`
	OCIRegistryUser     envVar[text, *text]     `envconfig:"WASMCLOUD_OCI_REGISTRY_USER" help:"user name for the registry (with _PASSWORD)"`
	OCIRegistryPassword envVar[Secret, *Secret] `envconfig:"WASMCLOUD_OCI_REGISTRY_PASSWORD" help:"password or access token for the registry (with _USER)"`

	LogLevel          envVar[level, *level] `envconfig:"WASMCLOUD_LOG_LEVEL" def:"info" help:"debug, info, warn or error"`
	StructuredLogging envVar[Bool, *Bool]   `envconfig:"WASMCLOUD_STRUCTURED_LOGGING_ENABLED" def:"false" help:"JSON logs instead of text"`
	AdminAddress      envVar[text, *text]   `envconfig:"WASMCLOUD_ADMIN_ADDRESS" show:"off" help:"host:port of the admin listener: /metrics, /healthz, /readyz (e.g. 127.0.0.1:9090)"`
	Pprof             envVar[Bool, *Bool]   `envconfig:"WASMCLOUD_PPROF" def:"false" help:"serve Go profiles under /debug/pprof/ on the admin listener, which must be on loopback"`

	InvocationValidity     envVar[duration, *duration]       `envconfig:"WASMCLOUD_INVOCATION_VALIDITY" def:"30s" help:"lifetime of signed invocations; max age of 0.x tokens without exp"`
	ClockSkew              envVar[duration, *duration]       `envconfig:"WASMCLOUD_CLOCK_SKEW" def:"5s" help:"clock skew tolerated on token times"`
	ReplayCacheSize        envVar[count, *count]             `envconfig:"WASMCLOUD_REPLAY_CACHE_SIZE" def:"1000000" help:"invocation ids remembered to refuse replays"`
	ReplayScope            envVar[ReplayScope, *ReplayScope] `envconfig:"WASMCLOUD_REPLAY_SCOPE" def:"lattice" help:"lattice: replays are refused by every host (JetStream); host: by the host that saw the original only"`
	RequireSignedResponses envVar[Bool, *Bool]               `envconfig:"WASMCLOUD_REQUIRE_SIGNED_RESPONSES" def:"true" help:"refuse invocation responses without a valid signature (false: accept unsigned ones, from 0.x hosts)"`
	KVBucketMaxBytes       envVar[byteSize, *byteSize]       `envconfig:"WASMCLOUD_KV_BUCKET_MAX_BYTES" def:"64M" help:"size limit of each key-value bucket the host creates (K, M, G)"`
	KVMaxValueSize         envVar[byteSize, *byteSize]       `envconfig:"WASMCLOUD_KV_MAX_VALUE_SIZE" def:"1M" help:"size limit of one value in those buckets (K, M, G; at most 2G)"`
	KVAllowedBuckets       envVar[list, *list]               `envconfig:"WASMCLOUD_KV_ALLOWED_BUCKETS" show:"any but the lattice's own" help:"comma-separated key-value buckets (names or patterns like tenant_*) links may name"`
}

// envVar is the envconfig field type of every variable. Its Decode never fails: it records
// whether the variable was set, its raw text (not for secrets) and the parse error, so that
// envconfig.Process, which stops at the first error, visits every variable and Load can report
// every problem at once. An empty or blank value counts as unset, as in many env files.
type envVar[T any, P interface {
	*T
	envconfig.Decoder
}] struct {
	val T
	raw string
	set bool
	err error
}

// Decode implements envconfig.Decoder.
func (v *envVar[T, P]) Decode(s string) error {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	v.set = true
	if _, secret := any(&v.val).(*Secret); !secret {
		v.raw = s
	}
	v.err = P(&v.val).Decode(s)
	return nil
}

// finish applies the default when the variable was unset or did not parse (so that one bad value
// is reported once, not again by Validate), and returns the parse problem, if any.
func (v *envVar[T, P]) finish(name, def string) []error {
	var problems []error
	if v.err != nil {
		problems = append(problems, &VarError{Var: name, Value: v.raw, Reason: v.err.Error(), Kind: ErrInvalid})
	}
	if !v.set || v.err != nil {
		var zero T
		v.val = zero
		if def != "" {
			if err := P(&v.val).Decode(def); err != nil {
				problems = append(problems, invalid(name, def, "built-in default does not parse: "+err.Error()))
			}
		}
	}
	return problems
}

// field is what walk hands out for each spec field.
type field interface {
	envconfig.Decoder
	finish(name, def string) []error
}

// walk calls fn for every variable of s, in declaration order.
func walk(s *spec, fn func(name string, tag reflect.StructTag, f field)) {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		fn(sf.Tag.Get("envconfig"), sf.Tag, v.Field(i).Addr().Interface().(field))
	}
}

// Load reads the process environment with envconfig, applies defaults, reads the cluster seed
// file if one is named, and validates the result. The error joins every problem found (see
// VarError); on error the returned Config is empty and any secret read has been wiped.
func Load() (Config, error) {
	var s spec
	if err := envconfig.Process("", &s); err != nil {
		// Unreachable: every field's Decode returns nil. Kept so that a future field type cannot
		// make Load ignore a failure.
		return Config{}, fmt.Errorf("config: read environment: %w", err)
	}
	return build(&s, os.LookupEnv, os.Environ())
}

// LoadFrom is Load over environ ("KEY=value" entries, as os.Environ returns) instead of the
// process environment, so that tests and tools never modify the process environment. When a key
// appears twice the first entry wins, as with os.Getenv.
func LoadFrom(environ []string) (Config, error) {
	lookup := lookupIn(environ)
	var s spec
	walk(&s, func(name string, _ reflect.StructTag, f field) {
		if v, ok := lookup(name); ok {
			_ = f.Decode(v) // never fails; see envVar.Decode
		}
	})
	return build(&s, lookup, environ)
}

func lookupIn(environ []string) func(string) (string, bool) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// build turns a filled spec into a Config and validates it.
func build(s *spec, lookup func(string) (string, bool), environ []string) (Config, error) {
	var problems []error
	walk(s, func(name string, tag reflect.StructTag, f field) {
		problems = append(problems, f.finish(name, tag.Get("def"))...)
	})

	c := Config{
		LatticePrefix:   string(s.LatticePrefix.val),
		HostSeed:        s.HostSeed.val,
		ClusterSeed:     s.ClusterSeed.val,
		ClusterSeedFile: string(s.ClusterSeedFile.val),
		ClusterIssuers:  dedupe(s.ClusterIssuers.val),
		RPC: NATSConn{
			Host:      string(s.RPCHost.val),
			Port:      int(s.RPCPort.val),
			URLs:      normalizeURLs(s.RPCURLs.val),
			Explicit:  s.RPCHost.set || s.RPCPort.set || s.RPCURLs.set,
			Seed:      s.RPCSeed.val,
			JWT:       s.RPCJWT.val,
			CredsFile: string(s.RPCCredsFile.val),
			TLSCA:     string(s.RPCTLSCA.val),
			TLSCert:   string(s.RPCTLSCert.val),
			TLSKey:    string(s.RPCTLSKey.val),
		},
		RPCTimeout: time.Duration(s.RPCTimeout.val),
		CTL: NATSConn{
			Host:      string(s.CTLHost.val),
			Port:      int(s.CTLPort.val),
			URLs:      normalizeURLs(s.CTLURLs.val),
			Explicit:  s.CTLHost.set || s.CTLPort.set || s.CTLURLs.set,
			Seed:      s.CTLSeed.val,
			JWT:       s.CTLJWT.val,
			CredsFile: string(s.CTLCredsFile.val),
			TLSCA:     string(s.CTLTLSCA.val),
			TLSCert:   string(s.CTLTLSCert.val),
			TLSKey:    string(s.CTLTLSKey.val),
		},
		CtlTopicPrefix:         string(s.CtlTopicPrefix.val),
		NATSEmbedded:           s.NATSEmbedded.val,
		StateDir:               string(s.StateDir.val),
		AllowFileLoad:          bool(s.AllowFileLoad.val),
		JSDomain:               string(s.JSDomain.val),
		PolicyTopic:            string(s.PolicyTopic.val),
		PolicyTimeout:          time.Duration(s.PolicyTimeout.val),
		PolicyChangesTopic:     string(s.PolicyChanges.val),
		PolicyEndpoint:         string(s.PolicyURL.val),
		StartActors:            []string(s.StartActors.val),
		Labels:                 hostLabels(environ),
		LogLevel:               slog.Level(s.LogLevel.val),
		StructuredLogging:      bool(s.StructuredLogging.val),
		InvocationValidity:     time.Duration(s.InvocationValidity.val),
		ClockSkew:              time.Duration(s.ClockSkew.val),
		ReplayCacheSize:        int(s.ReplayCacheSize.val),
		ReplayScope:            s.ReplayScope.val,
		RequireSignedResponses: bool(s.RequireSignedResponses.val),
		KVAllowedBuckets:       dedupe(s.KVAllowedBuckets.val),
		KVBucketMaxBytes:       int64(s.KVBucketMaxBytes.val),
		KVMaxValueSize:         int64(s.KVMaxValueSize.val),
		CtlIssuers:             dedupe(s.CtlIssuers.val),
		CtlIssuerSeed:          s.CtlIssuerSeed.val,
		CtlIssuerSeedFile:      string(s.CtlIssuerSeedFile.val),
		CtlTokenValidity:       time.Duration(s.CtlTokenValidity.val),
		ActorIssuers:           dedupe(s.ActorIssuers.val),
		ClusterIssuersFile:     string(s.ClusterIssuersFile.val),
		ActorIssuersFile:       string(s.ActorIssuersFile.val),
		CtlIssuersFile:         string(s.CtlIssuersFile.val),
		RevocationsFile:        string(s.RevocationsFile.val),
		Cosign: cosign.Config{PublicKeys: []string(s.CosignPublicKeys.val), TrustedRoot: string(s.CosignTrustedRoot.val),
			CertificateIdentity: string(s.CosignIdentity.val), CertificateIdentityRegexp: string(s.CosignIdentityRE.val),
			CertificateOIDCIssuer: string(s.CosignIssuer.val), CertificateOIDCIssuerRegexp: string(s.CosignIssuerRE.val)},
		AdminAddress:        string(s.AdminAddress.val),
		Pprof:               bool(s.Pprof.val),
		JSReplicas:          int(s.JSReplicas.val),
		ProviderIssuers:     dedupe(s.ProviderIssuers.val),
		ProviderClusterSeed: bool(s.ProvClusterSeed.val),
		ProviderUnconfined:  !bool(s.ProvSandbox.val),
	}
	c.OCI = OCIConfig{
		AllowLatest:     bool(s.OCIAllowLatest.val),
		AllowedInsecure: dedupe(s.OCIAllowedInsecure.val),
		Registry:        string(s.OCIRegistry.val),
		User:            string(s.OCIRegistryUser.val),
		Password:        s.OCIRegistryPassword.val,
	}
	c.RPC.TLS = bool(s.RPCTLS.val) || c.RPC.TLSCA != "" || c.RPC.TLSCert != "" || c.RPC.TLSKey != ""
	c.CTL.TLS = bool(s.CTLTLS.val) || c.CTL.TLSCA != "" || c.CTL.TLSCert != "" || c.CTL.TLSKey != ""

	for _, c := range []struct {
		prefix   string
		urls     bool
		hostPort bool
	}{{envRPC, s.RPCURLs.set, s.RPCHost.set || s.RPCPort.set}, {envCTL, s.CTLURLs.set, s.CTLHost.set || s.CTLPort.set}} {
		if c.urls && c.hostPort {
			problems = append(problems, conflict(c.prefix+"_URLS", "set together with "+c.prefix+"_HOST or "+c.prefix+"_PORT (use one)"))
		}
	}

	if s.ClusterSeedFile.set {
		if s.ClusterSeed.set {
			problems = append(problems, conflict(envClusterSeedFile, "set together with "+envClusterSeed+" (use one)"))
		} else if p := readSeedFile(&c); p != nil {
			problems = append(problems, p)
		}
	}

	if s.CtlIssuerSeedFile.set {
		if s.CtlIssuerSeed.set {
			problems = append(problems, conflict(envCtlIssuerSeedFile, "set together with "+envCtlIssuerSeed+" (use one)"))
		} else if p := readCtlIssuerSeedFile(&c); p != nil {
			problems = append(problems, p)
		}
	}

	problems = append(problems, readKeyFiles(&c)...)
	if c.Cosign.Enabled() {
		v, err := cosign.Load(c.Cosign)
		if err != nil {
			problems = append(problems, err)
		}
		c.CosignVerifier = v
	}

	if c.StateDir == "" {
		c.StateDir = defaultStateDir(lookup) // "" when underivable; validate reports it
	} else if !filepath.IsAbs(c.StateDir) {
		if abs, err := filepath.Abs(c.StateDir); err == nil {
			c.StateDir = abs
		}
	}

	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		c.Wipe()
		return Config{}, errors.Join(problems...)
	}
	return c, nil
}

// readKeyFiles merges the keys of the issuer files into their lists and reads the revocations file.
func readKeyFiles(c *Config) []error {
	var problems []error
	for _, f := range []struct {
		name, path string
		list       *[]string
		valid      func(string) bool
		want       string
	}{
		{envClusterIssuersFile, c.ClusterIssuersFile, &c.ClusterIssuers, isClusterPublicKey, "a cluster public key (C…)"},
		{envActorIssuersFile, c.ActorIssuersFile, &c.ActorIssuers, nkeys.IsValidPublicAccountKey, "an account public key (A…)"},
		{envCtlIssuersFile, c.CtlIssuersFile, &c.CtlIssuers, func(k string) bool {
			return nkeys.IsValidPublicOperatorKey(k) || nkeys.IsValidPublicAccountKey(k)
		}, "an operator or account public key (O… or A…)"},
	} {
		if f.path == "" {
			continue
		}
		keys, err := readKeyList(f.name, f.path, f.valid, f.want)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		*f.list = dedupe(append(*f.list, keys...))
	}
	if c.RevocationsFile != "" {
		b, err := readSmallFile(c.RevocationsFile)
		if err != nil {
			problems = append(problems, &VarError{Var: envRevocationsFile, Value: c.RevocationsFile, Reason: "cannot read", Kind: ErrInvalid, Err: err})
		} else if c.Revocations, err = revoke.ParseBytes(b); err != nil {
			problems = append(problems, &VarError{Var: envRevocationsFile, Value: c.RevocationsFile, Reason: "malformed", Kind: ErrInvalid, Err: err})
		}
	}
	return problems
}

// maxKeyFile bounds a file of keys or revocations.
const maxKeyFile = 16 << 20

// readSmallFile reads a file of at most maxKeyFile bytes.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathless(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, pathless(err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes", maxKeyFile)
	}
	return b, nil
}

// readKeyList reads a file of public keys, one per line; blank lines and lines starting with # are skipped.
// Every key must pass valid; the error of one that does not names the file and the line, and shows the line
// only if it cannot be a seed.
func readKeyList(name, path string, valid func(string) bool, want string) ([]string, error) {
	b, err := readSmallFile(path)
	if err != nil {
		return nil, &VarError{Var: name, Value: path, Reason: "cannot read", Kind: ErrInvalid, Err: err}
	}
	defer clear(b)
	var keys []string
	n := 0
	for line := range strings.Lines(string(b)) {
		n++
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !valid(line) {
			what := "holds a seed, not a public key (not shown)"
			if line[0] != 'S' {
				what = fmt.Sprintf("%q is not %s", truncate(line, 64), want)
			}
			return nil, &VarError{Var: name, Value: path, Reason: fmt.Sprintf("line %d %s", n, what), Kind: ErrInvalid}
		}
		keys = append(keys, line)
	}
	return keys, nil
}

// truncate shortens s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// readSeedFile reads the cluster seed from c.ClusterSeedFile into c.ClusterSeed.
func readSeedFile(c *Config) error {
	if p := checkPrivateFile(envClusterSeedFile, c.ClusterSeedFile); p != nil {
		return p
	}
	b, err := os.ReadFile(c.ClusterSeedFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already in Value
		}
		return &VarError{Var: envClusterSeedFile, Value: c.ClusterSeedFile, Reason: "cannot read", Kind: ErrInvalid, Err: err}
	}
	defer clear(b)
	seed := bytes.TrimSpace(b)
	if len(seed) == 0 {
		return invalid(envClusterSeedFile, c.ClusterSeedFile, "file is empty")
	}
	c.ClusterSeed = NewSecret(seed)
	return nil
}

// checkPrivateFile refuses a file that holds a secret (a seed, NATS credentials) when its permissions let
// users other than its owner read it: whoever else can read it could forge what it signs. The error names
// the file and the fix. Under systemd, LoadCredential= files are readable by the service's user only.
func checkPrivateFile(name, path string) *VarError {
	fi, err := os.Stat(path)
	if err != nil {
		return &VarError{Var: name, Value: path, Reason: "cannot read", Kind: ErrInvalid, Err: pathless(err)}
	}
	if perm := fi.Mode().Perm(); fi.Mode().IsRegular() && perm&0o077 != 0 {
		return invalid(name, path, fmt.Sprintf("holds a secret but is readable by group or others (mode %04o); run: chmod 600 %s", perm, path))
	}
	return nil
}

// defaultStateDir is $STATE_DIRECTORY (the first entry: systemd separates several with ':'),
// else $XDG_STATE_HOME/wasmcloud-host (absolute only, per the XDG spec), else
// $HOME/.local/state/wasmcloud-host.
func defaultStateDir(lookup func(string) (string, bool)) string {
	if v, ok := lookup("STATE_DIRECTORY"); ok {
		if first, _, _ := strings.Cut(v, ":"); filepath.IsAbs(first) {
			return filepath.Clean(first)
		}
	}
	if v, ok := lookup("XDG_STATE_HOME"); ok && filepath.IsAbs(v) {
		return filepath.Join(v, "wasmcloud-host")
	}
	if v, ok := lookup("HOME"); ok && filepath.IsAbs(v) {
		return filepath.Join(v, ".local", "state", "wasmcloud-host")
	}
	return ""
}

func dedupe(items []string) []string {
	var out []string
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}
