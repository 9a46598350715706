// Command testprovider is a wasmCloud 0.x capability provider written for the tests from codecs this project
// did not write: the wire types are declared here by hand from wasmCloud's interface definitions and encoded
// with github.com/vmihailenco/msgpack/v5, tokens are checked and signed with github.com/nats-io/nkeys and the
// standard library. It does what a wasmbus-rpc provider does: it reads the HostData line from standard input,
// connects to NATS with the credentials it names, serves invocations on
// wasmbus.rpc.{lattice}.{provider}.{link} (queue group "rpc") after checking their token's signature, issuer
// (among cluster_issuers), target, hash and that the calling actor is linked, keeps the links that arrive on
// linkdefs.put and linkdefs.del, answers health checks, and exits on a shutdown request.
//
// Operations (payloads are MessagePack):
//
//	Echo.Echo      any bytes          -> the same bytes
//	Echo.Links     nothing            -> map of linked actor -> its link values
//	Echo.Env       nothing            -> {"env": number of environment variables, "cwd": working directory, "pid": pid}
//	Echo.CallBack  {"actor", "operation", "body"} -> the reply of that actor's operation, invoked by this
//	               provider (origin: this provider, signed with invocation_seed)
//	Probe.ReadFile  a path           -> "ok:" and the hex SHA-256 of the file's first 64 KiB (never the bytes,
//	               which the tests would log), or "error:" and why it could not
//	Probe.WriteFile a path           -> "ok" when the file opened for writing (nothing is written), or "error:" and why
//
// The probes are what a malicious provider would try against its host (see integration's TestProviderSandbox).
//
// On start it writes its pid to the file "pid" in its working directory. It is a test helper only.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/vmihailenco/msgpack/v5"
)

// hostData holds the HostData fields this provider reads.
type hostData struct {
	HostID             string    `json:"host_id"`
	LatticeRPCPrefix   string    `json:"lattice_rpc_prefix"`
	LinkName           string    `json:"link_name"`
	LatticeRPCUserJWT  string    `json:"lattice_rpc_user_jwt"`
	LatticeRPCUserSeed string    `json:"lattice_rpc_user_seed"`
	LatticeRPCURL      string    `json:"lattice_rpc_url"`
	ProviderKey        string    `json:"provider_key"`
	InvocationSeed     string    `json:"invocation_seed"`
	ClusterIssuers     []string  `json:"cluster_issuers"`
	LinkDefinitions    []linkDef `json:"link_definitions"`
	DefaultRPCTimeout  uint64    `json:"default_rpc_timeout_ms"`
}

type linkDef struct {
	ActorID    string            `json:"actor_id" msgpack:"actor_id"`
	ProviderID string            `json:"provider_id" msgpack:"provider_id"`
	LinkName   string            `json:"link_name" msgpack:"link_name"`
	ContractID string            `json:"contract_id" msgpack:"contract_id"`
	Values     map[string]string `json:"values" msgpack:"values"`
}

type entity struct {
	PublicKey  string `msgpack:"public_key"`
	LinkName   string `msgpack:"link_name"`
	ContractID string `msgpack:"contract_id"`
}

func (e entity) url() string {
	if strings.HasPrefix(strings.ToUpper(e.PublicKey), "M") {
		return "wasmbus://" + e.PublicKey
	}
	c := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(e.ContractID, ":", "/"), " ", "_"))
	l := strings.ToLower(strings.ReplaceAll(e.LinkName, " ", "_"))
	return "wasmbus://" + c + "/" + l + "/" + e.PublicKey
}

type invocation struct {
	Origin        entity `msgpack:"origin"`
	Target        entity `msgpack:"target"`
	Operation     string `msgpack:"operation"`
	Msg           []byte `msgpack:"msg"`
	ID            string `msgpack:"id"`
	EncodedClaims string `msgpack:"encoded_claims"`
	HostID        string `msgpack:"host_id"`
	ContentLength uint64 `msgpack:"content_length"`
}

type response struct {
	Msg           []byte `msgpack:"msg"`
	InvocationID  string `msgpack:"invocation_id"`
	Error         string `msgpack:"error,omitempty"`
	ContentLength uint64 `msgpack:"content_length"`
}

type healthResponse struct {
	Healthy bool   `msgpack:"healthy"`
	Message string `msgpack:"message"`
}

type claims struct {
	JTI      string `json:"jti"`
	IAT      int64  `json:"iat"`
	EXP      int64  `json:"exp,omitempty"`
	ISS      string `json:"iss"`
	SUB      string `json:"sub"`
	Wascap   meta   `json:"wascap"`
	Revision int    `json:"wascap_revision"`
}

type meta struct {
	TargetURL string `json:"target_url"`
	OriginURL string `json:"origin_url"`
	Hash      string `json:"hash"`
}

type provider struct {
	hd  hostData
	nc  *nats.Conn
	key nkeys.KeyPair

	mu    sync.Mutex
	links map[string]linkDef // by actor
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testprovider:", err)
		os.Exit(1)
	}
}

func run() error {
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read host data: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return fmt.Errorf("host data: %w", err)
	}
	p := &provider{links: map[string]linkDef{}}
	if err := json.Unmarshal(raw, &p.hd); err != nil {
		return fmt.Errorf("host data: %w", err)
	}
	if p.key, err = nkeys.FromSeed([]byte(p.hd.InvocationSeed)); err != nil {
		return fmt.Errorf("invocation seed: %w", err)
	}
	for _, l := range p.hd.LinkDefinitions {
		p.links[l.ActorID] = l
	}
	if err := os.WriteFile("pid", []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return err
	}
	opts := []nats.Option{nats.Name("testprovider")}
	switch {
	case p.hd.LatticeRPCUserJWT != "" && p.hd.LatticeRPCUserSeed != "":
		opts = append(opts, nats.UserJWTAndSeed(p.hd.LatticeRPCUserJWT, p.hd.LatticeRPCUserSeed))
	case p.hd.LatticeRPCUserSeed != "":
		kp, err := nkeys.FromSeed([]byte(p.hd.LatticeRPCUserSeed))
		if err != nil {
			return err
		}
		pub, _ := kp.PublicKey()
		opts = append(opts, nats.Nkey(pub, kp.Sign))
	}
	if p.nc, err = nats.Connect(p.hd.LatticeRPCURL, opts...); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	base := "wasmbus.rpc." + p.hd.LatticeRPCPrefix + "." + p.hd.ProviderKey + "." + p.hd.LinkName
	done := make(chan struct{})
	var once sync.Once
	subs := []struct {
		subject, queue string
		h              nats.MsgHandler
	}{
		{base, "rpc", p.handle},
		{base + ".linkdefs.put", "", func(m *nats.Msg) { p.link(m, true) }},
		{base + ".linkdefs.del", "", func(m *nats.Msg) { p.link(m, false) }},
		{base + ".health", "", func(m *nats.Msg) {
			b, _ := msgpack.Marshal(healthResponse{Healthy: true, Message: "ok"})
			_ = m.Respond(b)
		}},
		{base + ".shutdown", "", func(m *nats.Msg) {
			_ = m.Respond([]byte("shutting down"))
			once.Do(func() { close(done) })
		}},
	}
	for _, s := range subs {
		if _, err := p.nc.QueueSubscribe(s.subject, s.queue, s.h); err != nil {
			return err
		}
	}
	if err := p.nc.Flush(); err != nil {
		return err
	}
	fmt.Println("testprovider ready:", p.hd.ProviderKey, p.hd.LinkName)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-done:
	case <-sig:
	}
	fmt.Println("testprovider shutting down")
	return p.nc.Drain()
}

func (p *provider) link(m *nats.Msg, put bool) {
	var l linkDef
	if err := msgpack.Unmarshal(m.Data, &l); err != nil {
		fmt.Fprintln(os.Stderr, "testprovider: bad link definition:", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if put {
		p.links[l.ActorID] = l
	} else {
		delete(p.links, l.ActorID)
	}
	fmt.Println("testprovider link", map[bool]string{true: "put", false: "del"}[put], l.ActorID)
}

func (p *provider) handle(m *nats.Msg) {
	var inv invocation
	resp := response{}
	if err := msgpack.Unmarshal(m.Data, &inv); err != nil {
		resp.Error = "testprovider: malformed invocation: " + err.Error()
	} else {
		resp.InvocationID = inv.ID
		if err := p.verify(&inv); err != nil {
			resp.Error = "testprovider: " + err.Error()
		} else if out, err := p.dispatch(&inv); err != nil {
			resp.Error = "testprovider: " + err.Error()
		} else {
			resp.Msg, resp.ContentLength = out, uint64(len(out))
		}
	}
	if resp.Msg == nil {
		resp.Msg = []byte{}
	}
	b, err := msgpack.Marshal(resp)
	if err == nil {
		_ = m.Respond(b)
	}
}

// verify checks an invocation as a 0.x provider does.
func (p *provider) verify(inv *invocation) error {
	parts := strings.Split(inv.EncodedClaims, ".")
	if len(parts) != 3 {
		return errors.New("token is not a JWT")
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	var c claims
	if err := json.Unmarshal(body, &c); err != nil {
		return err
	}
	issuer, err := nkeys.FromPublicKey(c.ISS)
	if err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	if err := issuer.Verify([]byte(parts[0]+"."+parts[1]), sig); err != nil {
		return errors.New("invocation signature invalid")
	}
	if !slices.Contains(p.hd.ClusterIssuers, c.ISS) {
		return errors.New("issuer of this invocation is not in list of cluster issuers")
	}
	if c.EXP != 0 && time.Now().Unix() > c.EXP {
		return errors.New("invocation token expired")
	}
	if inv.Target.PublicKey != p.hd.ProviderKey {
		return errors.New("target key mismatch")
	}
	targetURL := inv.Target.url() + "/" + inv.Operation
	if c.Wascap.TargetURL != targetURL || c.Wascap.OriginURL != inv.Origin.url() {
		return errors.New("invocation URLs do not match the token")
	}
	if c.Wascap.Hash != hash(inv.Origin.url(), targetURL, inv.Operation, inv.Msg) {
		return errors.New("invocation hash does not match signed claims hash")
	}
	p.mu.Lock()
	_, linked := p.links[inv.Origin.PublicKey]
	p.mu.Unlock()
	if !linked {
		return fmt.Errorf("unlinked actor: '%s'", inv.Origin.PublicKey)
	}
	return nil
}

func hash(origin, target, op string, msg []byte) string {
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte(target))
	h.Write([]byte(op))
	h.Write(msg)
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

func (p *provider) dispatch(inv *invocation) ([]byte, error) {
	switch inv.Operation {
	case "Echo.Echo":
		return inv.Msg, nil
	case "Echo.Links":
		p.mu.Lock()
		out := map[string]map[string]string{}
		for a, l := range p.links {
			out[a] = l.Values
		}
		p.mu.Unlock()
		return msgpack.Marshal(out)
	case "Echo.Env":
		cwd, _ := os.Getwd()
		return msgpack.Marshal(map[string]any{"env": len(os.Environ()), "cwd": cwd, "pid": os.Getpid()})
	case "Probe.ReadFile":
		f, err := os.Open(string(inv.Msg))
		if err != nil {
			return []byte("error:" + err.Error()), nil
		}
		defer f.Close()
		b := make([]byte, 64<<10)
		n, err := f.Read(b)
		if err != nil {
			return []byte("error:" + err.Error()), nil
		}
		sum := sha256.Sum256(b[:n])
		return []byte("ok:" + hex.EncodeToString(sum[:])), nil
	case "Probe.WriteFile":
		f, err := os.OpenFile(string(inv.Msg), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return []byte("error:" + err.Error()), nil
		}
		_ = f.Close()
		return []byte("ok"), nil
	case "Echo.CallBack":
		var req struct {
			Actor     string `msgpack:"actor"`
			Operation string `msgpack:"operation"`
			Body      []byte `msgpack:"body"`
		}
		if err := msgpack.Unmarshal(inv.Msg, &req); err != nil {
			return nil, err
		}
		return p.call(entity{PublicKey: p.hd.ProviderKey, LinkName: p.hd.LinkName, ContractID: inv.Target.ContractID},
			entity{PublicKey: req.Actor}, req.Operation, req.Body)
	}
	return nil, fmt.Errorf("unknown operation %q", inv.Operation)
}

// call invokes an actor as wasmbus-rpc does: a token signed with the invocation seed, host_id the host's.
func (p *provider) call(origin, target entity, op string, msg []byte) ([]byte, error) {
	if msg == nil {
		msg = []byte{}
	}
	var idb [16]byte
	_, _ = rand.Read(idb[:])
	id := hex.EncodeToString(idb[:])
	pub, _ := p.key.PublicKey()
	targetURL := target.url() + "/" + op
	now := time.Now().Unix()
	body, _ := json.Marshal(claims{JTI: id, IAT: now, EXP: now + 30, ISS: pub, SUB: id, Revision: 3,
		Wascap: meta{TargetURL: targetURL, OriginURL: origin.url(), Hash: hash(origin.url(), targetURL, op, msg)}})
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"jwt","alg":"Ed25519"}`))
	signing := head + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := p.key.Sign([]byte(signing))
	if err != nil {
		return nil, err
	}
	inv := invocation{Origin: origin, Target: target, Operation: op, Msg: msg, ID: id, HostID: p.hd.HostID,
		EncodedClaims: signing + "." + base64.RawURLEncoding.EncodeToString(sig), ContentLength: uint64(len(msg))}
	b, err := msgpack.Marshal(inv)
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(p.hd.DefaultRPCTimeout) * time.Millisecond
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	m, err := p.nc.Request("wasmbus.rpc."+p.hd.LatticeRPCPrefix+"."+target.PublicKey, b, timeout)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", target.PublicKey, err)
	}
	var resp response
	if err := msgpack.Unmarshal(m.Data, &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return resp.Msg, nil
}
