package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"

	"github.com/wasmcloud-host/wasmcloud-host/capability/keyvalue"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"

	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Validate checks c and returns every problem at once (errors.Join of *VarError), or nil. Load
// calls it; it is exported for Configs built by hand.
func (c Config) Validate() error {
	return errors.Join(c.validate()...)
}

// now is the clock used to check JWT expiry; tests replace it.
var now = time.Now

func (c Config) validate() []error {
	var p []error
	add := func(e *VarError) {
		if e != nil {
			p = append(p, e)
		}
	}

	if err := subject.ValidateToken(c.LatticePrefix); err != nil {
		add(invalid(envLatticePrefix, c.LatticePrefix, "not a single NATS subject token: "+subject.Reason(err)))
	}
	add(checkSeed(envHostSeed, c.HostSeed, nkeys.PrefixByteServer, "not a server seed (want SN…)"))
	if c.ClusterSeedFile != "" {
		// The seed came from the file: name the file, never the content.
		if e := checkSeed(envClusterSeedFile, c.ClusterSeed, nkeys.PrefixByteCluster, "content is not a cluster seed (want SC…)"); e != nil {
			e.Value = c.ClusterSeedFile
			add(e)
		}
	} else {
		add(checkSeed(envClusterSeed, c.ClusterSeed, nkeys.PrefixByteCluster, "not a cluster seed (want SC…)"))
	}
	for _, iss := range c.ClusterIssuers {
		if !isClusterPublicKey(iss) {
			add(invalidKey(envClusterIssuers, iss, "not a cluster public key (want C… with a valid checksum)"))
		}
	}

	p = append(p, c.RPC.validate(envRPC)...)
	if c.RPCTimeout <= 0 {
		add(invalid(envRPCTimeout, c.RPCTimeout.String(), "must be positive"))
	}
	p = append(p, c.CTL.validate(envCTL)...)
	if err := subject.ValidateSubject(c.CtlTopicPrefix, false); err != nil {
		add(invalid(envCtlTopicPrefix, c.CtlTopicPrefix, "not a NATS subject: "+subject.Reason(err)))
	}
	if err := checkEmbeddedMode(c.NATSEmbedded); err != nil {
		add(invalid(envNATSEmbedded, string(c.NATSEmbedded), err.Error()))
	}

	if c.StateDir == "" {
		add(invalid(envStateDir, "", "not set, and none of STATE_DIRECTORY, XDG_STATE_HOME or HOME is an absolute path to derive it from"))
	} else if !filepath.IsAbs(c.StateDir) {
		add(invalid(envStateDir, c.StateDir, "not an absolute path"))
	}
	if c.JSDomain != "" {
		if err := subject.ValidateToken(c.JSDomain); err != nil {
			add(invalid(envJSDomain, c.JSDomain, "not a JetStream domain: "+subject.Reason(err)))
		}
	}
	if c.PolicyTopic != "" {
		if err := subject.ValidateSubject(c.PolicyTopic, false); err != nil {
			add(invalid(envPolicyTopic, c.PolicyTopic, "not a NATS subject: "+subject.Reason(err)))
		}
	}
	if c.PolicyChangesTopic != "" {
		if err := subject.ValidateSubject(c.PolicyChangesTopic, true); err != nil {
			add(invalid(envPolicyChanges, c.PolicyChangesTopic, "not a NATS subject: "+subject.Reason(err)))
		}
	}
	if c.PolicyEndpoint != "" {
		if u, err := url.Parse(c.PolicyEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(invalid(envPolicyEndpoint, redactURL(c.PolicyEndpoint), "not an http or https URL"))
		}
	}
	if c.PolicyTimeout <= 0 {
		add(invalid(envPolicyTimeout, c.PolicyTimeout.String(), "must be positive"))
	}
	p = append(p, c.OCI.validate()...)
	switch c.LogLevel {
	case slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError:
	default:
		add(invalid(envLogLevel, c.LogLevel.String(), "not a log level (want debug, info, warn or error)"))
	}
	if c.InvocationValidity <= 0 {
		add(invalid(envInvValidity, c.InvocationValidity.String(), "must be positive"))
	}
	if c.ClockSkew < 0 {
		add(invalid(envClockSkew, c.ClockSkew.String(), "must not be negative"))
	}
	for _, b := range c.KVAllowedBuckets {
		if err := keyvalue.ValidPattern(b); err != nil {
			add(invalid(envKVBuckets, b, "not a bucket name or pattern (letters, digits, '-', '_' and the wildcards * ? [ ])"))
		}
	}
	if c.KVMaxValueSize > math.MaxInt32 {
		add(invalid(envKVMaxValue, strconv.FormatInt(c.KVMaxValueSize, 10), "larger than 2G, the most JetStream allows"))
	}
	for k, v := range c.Labels {
		if nkey.LooksLikeSeed(v) {
			// Labels are published to the whole lattice; a seed pasted into one would be broadcast.
			add(invalid(labelPrefix+strings.ToUpper(k), v, "looks like a seed: labels are published to the lattice"))
		}
	}
	if c.ReplayCacheSize < 1 {
		add(invalid(envReplayCacheSize, strconv.Itoa(c.ReplayCacheSize), "must be positive"))
	}
	p = append(p, c.validateSignedControl()...)
	if c.AdminAddress != "" {
		if err := checkHostPort(c.AdminAddress); err != nil {
			add(invalid(envAdminAddress, c.AdminAddress, err.Error()))
		}
	}
	if c.Pprof {
		// Profiles show the heap, goroutine stacks and the command line, and cost CPU on demand: loopback only.
		host, _, err := net.SplitHostPort(c.AdminAddress)
		switch {
		case c.AdminAddress == "":
			add(conflict(envPprof, "true without "+envAdminAddress+", where profiles are served (set it to a loopback address such as 127.0.0.1:9090)"))
		case err == nil && !isLoopbackHost(host):
			add(conflict(envPprof, "true with "+envAdminAddress+" "+strconv.Quote(c.AdminAddress)+
				", which is not a loopback address: profiles are served only on 127.0.0.1, [::1] or localhost"))
		}
	}
	if c.JSReplicas < 0 || c.JSReplicas > 5 {
		add(invalid(envJSReplicas, strconv.Itoa(c.JSReplicas), "not a replica count (want auto or 1..5)"))
	}
	if c.NATSEmbedded == EmbeddedAlways && (len(c.RPC.URLs) > 0 || len(c.CTL.URLs) > 0) {
		add(conflict(envNATSEmbedded, "true together with "+envRPC+"_URLS or "+envCTL+"_URLS (an embedded server listens on _HOST and _PORT)"))
	}
	return p
}

// checkHostPort accepts host:port with an IP address or host name (empty for every interface) and a port.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !isPort(port) {
		return errors.New("not host:port (want e.g. 127.0.0.1:9090)")
	}
	if host == "" {
		return nil
	}
	return checkHost(host)
}

// isLoopbackHost reports whether host, the host part of a listening address, is localhost or a loopback IP
// address (127.0.0.0/8, ::1). An empty host, which listens on every interface, is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkServerURL accepts nats://host:port or tls://host:port, without user information or path: credentials
// have variables of their own, and a URL is logged.
func checkServerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("not a URL")
	case u.Scheme != "nats" && u.Scheme != "tls":
		return errors.New("scheme must be nats or tls")
	case u.User != nil:
		return errors.New("has user information (use the _CREDSFILE, _SEED or _JWT variables)")
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
		return errors.New("has a path, query or fragment")
	}
	if checkHost(u.Hostname()) != nil || !isPort(u.Port()) {
		return errors.New("want scheme://host:port")
	}
	return nil
}

// validate checks one NATS connection; prefix is WASMCLOUD_RPC or WASMCLOUD_CTL.
func (n NATSConn) validate(prefix string) []error {
	var p []error
	add := func(e *VarError) {
		if e != nil {
			p = append(p, e)
		}
	}
	for _, u := range n.URLs {
		if err := checkServerURL(u); err != nil {
			add(invalid(prefix+"_URLS", u, err.Error()))
		}
	}
	if err := checkHost(n.Host); err != nil {
		add(invalid(prefix+"_HOST", n.Host, err.Error()))
	}
	if n.Port < 1 || n.Port > 65535 {
		add(invalid(prefix+"_PORT", strconv.Itoa(n.Port), "not a port (want 1..65535)"))
	}

	seedOK := true
	if e := checkSeed(prefix+"_SEED", n.Seed, nkeys.PrefixByteUser, "not a NATS user seed (want SU…)"); e != nil {
		add(e)
		seedOK = false
	}
	if n.JWT.IsSet() {
		switch {
		case !n.Seed.IsSet():
			add(conflict(prefix+"_JWT", "set without "+prefix+"_SEED (a user JWT needs its seed to sign the server's nonce)"))
		default:
			add(checkUserJWT(prefix+"_JWT", n.JWT, n.Seed, seedOK))
		}
	}
	if n.CredsFile != "" {
		if n.Seed.IsSet() || n.JWT.IsSet() {
			add(conflict(prefix+"_CREDSFILE", "set together with "+prefix+"_SEED or "+prefix+"_JWT (use one)"))
		}
		add(checkCredsFile(prefix+"_CREDSFILE", n.CredsFile))
	}

	if n.TLSCA != "" {
		add(checkCAFile(prefix+"_TLS_CA", n.TLSCA))
	}
	switch {
	case n.TLSCert != "" && n.TLSKey == "":
		add(conflict(prefix+"_TLS_CERT", "set without "+prefix+"_TLS_KEY"))
	case n.TLSKey != "" && n.TLSCert == "":
		add(conflict(prefix+"_TLS_KEY", "set without "+prefix+"_TLS_CERT"))
	case n.TLSCert != "":
		if e := checkPrivateFile(prefix+"_TLS_KEY", n.TLSKey); e != nil {
			add(e)
			break
		}
		if _, err := tls.LoadX509KeyPair(n.TLSCert, n.TLSKey); err != nil {
			add(&VarError{Var: prefix + "_TLS_CERT", Value: n.TLSCert, Reason: "cannot load with " + prefix + "_TLS_KEY " + strconv.Quote(n.TLSKey), Kind: ErrInvalid, Err: pathless(err)})
		}
	}
	return p
}

// validate checks the OCI registry variables: registries are host[:port], and credentials come as a user
// and password pair together with the registry they are for. The password never appears in a problem.
func (o OCIConfig) validate() []error {
	var p []error
	for _, r := range o.AllowedInsecure {
		if err := checkRegistry(r); err != nil {
			p = append(p, invalid(envOCIInsecure, r, err.Error()))
		}
	}
	if o.Registry != "" {
		if err := checkRegistry(o.Registry); err != nil {
			p = append(p, invalid(envOCIRegistry, o.Registry, err.Error()))
		}
	}
	hasUser, hasPassword := o.User != "", o.Password.IsSet()
	switch {
	case hasUser && !hasPassword:
		p = append(p, conflict(envOCIUser, "set without "+envOCIPassword))
	case hasPassword && !hasUser:
		p = append(p, conflict(envOCIPassword, "set without "+envOCIUser))
	}
	if (hasUser || hasPassword) && o.Registry == "" {
		name := envOCIUser
		if !hasUser {
			name = envOCIPassword
		}
		p = append(p, conflict(name, "set without "+envOCIRegistry+" (credentials need the registry they are for)"))
	}
	return p
}

// checkRegistry accepts a registry as written in an actor reference: a host name, an IPv4 address or a
// bracketed IPv6 address, with an optional port.
func checkRegistry(s string) error {
	errWant := errors.New("not a registry (want host or host:port, without scheme or path)")
	if rest, ok := strings.CutPrefix(s, "["); ok {
		addr, after, ok := strings.Cut(rest, "]")
		ip, err := netip.ParseAddr(addr)
		if !ok || err != nil || !ip.Is6() || ip.Zone() != "" {
			return errWant
		}
		if after == "" {
			return nil
		}
		if port, ok := strings.CutPrefix(after, ":"); !ok || !isPort(port) {
			return errWant
		}
		return nil
	}
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && !isPort(port) {
		return errWant
	}
	if checkHost(host) != nil || strings.Contains(host, "_") {
		return errWant
	}
	return nil
}

// isPort accepts a port number 1..65535 written without sign or leading zeros.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == s
}

// checkSeed returns a problem when s is set but is not a seed of the wanted type. It never
// includes the seed or the decoder's error text in the problem.
func checkSeed(name string, s Secret, want nkeys.PrefixByte, reason string) *VarError {
	if !s.IsSet() {
		return nil
	}
	prefix, raw, err := nkeys.DecodeSeed(s.Reveal())
	clear(raw)
	if err != nil || prefix != want {
		return invalidSecret(name, reason)
	}
	return nil
}

// checkUserJWT checks that j is a NATS user JWT issued for the seed's public key and not expired.
// Only non-secret facts (the subject, the expiry) appear in a problem.
func checkUserJWT(name string, j, seed Secret, seedOK bool) *VarError {
	claims, err := jwt.DecodeUserClaims(string(j.Reveal()))
	if err != nil {
		return invalidSecret(name, "not a NATS user JWT")
	}
	if claims.Expires > 0 && now().Unix() >= claims.Expires {
		return invalidSecret(name, "expired at "+time.Unix(claims.Expires, 0).UTC().Format(time.RFC3339))
	}
	if !seedOK {
		return nil
	}
	kp, err := nkeys.FromSeed(seed.Reveal())
	if err != nil {
		return nil // reported against the seed already
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err == nil && pub != claims.Subject {
		return invalidSecret(name, fmt.Sprintf("issued for %s, not for the seed's key %s", claims.Subject, pub))
	}
	return nil
}

// checkCredsFile checks that path is a .creds file readable by its owner only, holding a user JWT and a user
// seed.
func checkCredsFile(name, path string) *VarError {
	if p := checkPrivateFile(name, path); p != nil {
		return p
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &VarError{Var: name, Value: path, Reason: "cannot read", Kind: ErrInvalid, Err: pathless(err)}
	}
	defer clear(b)
	token, err := jwt.ParseDecoratedJWT(b)
	if err == nil {
		_, err = jwt.DecodeUserClaims(token)
	}
	if err != nil {
		return invalid(name, path, "no NATS user JWT in the file")
	}
	kp, err := jwt.ParseDecoratedUserNKey(b)
	if err != nil {
		return invalid(name, path, "no NATS user seed in the file")
	}
	kp.Wipe()
	return nil
}

// checkCAFile checks that path holds at least one PEM certificate.
func checkCAFile(name, path string) *VarError {
	b, err := os.ReadFile(path)
	if err != nil {
		return &VarError{Var: name, Value: path, Reason: "cannot read", Kind: ErrInvalid, Err: pathless(err)}
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return invalid(name, path, "no PEM certificate in the file")
	}
	return nil
}

// pathless drops the *os.PathError wrapper (whose path the VarError already shows).
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkHost accepts an IP address or a DNS host name, and nothing with a scheme or port.
func checkHost(h string) error {
	const want = "not a host name or IP address (scheme and port are separate variables)"
	if h == "" {
		return errors.New("empty")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return errors.New(want)
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New(want)
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return errors.New(want)
			}
		}
	}
	return nil
}

// isClusterPublicKey reports whether s is a cluster public key: its prefix, length, alphabet and checksum,
// and a point on the curve (nkey.ParsePublicOf).
func isClusterPublicKey(s string) bool {
	_, err := nkey.ParsePublicOf(s, nkey.Cluster)
	return err == nil
}

// joinHostPort is net.JoinHostPort with an int port.
func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// redactURL returns a URL for an error message without the password of its user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil && strings.Contains(s, "@"):
		return "(a malformed URL with user information, not shown)"
	case err == nil && u.User != nil:
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			return u.String()
		}
	}
	return s
}
