package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
)

// storedClaims is a CLAIMS_{key} entry of the lattice bucket, in the format wasmCloud 0.82 writes (it also
// reads OTP's field names, iss and sub).
type storedClaims struct {
	CallAlias    string   `json:"call_alias,omitempty"`
	Capabilities []string `json:"capabilities"`
	Issuer       string   `json:"issuer"`
	Name         string   `json:"name"`
	Revision     string   `json:"revision"`
	Subject      string   `json:"subject"`
	Tags         []string `json:"tags"`
	Version      string   `json:"version"`

	OTPIssuer  string `json:"iss,omitempty"`
	OTPSubject string `json:"sub,omitempty"`
}

// claimsStore publishes the claims of this host's actors to the lattice bucket and watches everyone's, so call
// aliases resolve across hosts. The claims that authorise anything are always the ones in the signed module;
// these entries are unsigned, so they only ever map an alias to a key.
type claimsStore struct {
	bucket string
	domain string
	log    *slog.Logger

	kv        jetstream.KeyValue // nil when JetStream is unavailable
	stopWatch context.CancelFunc
	watching  sync.WaitGroup

	// mu guards aliases and owners.
	mu      sync.RWMutex
	aliases map[string]string // call alias → module key; the first claim of an alias wins
}

func newClaimsStore(latticePrefix, domain string, log *slog.Logger) *claimsStore {
	return &claimsStore{bucket: "LATTICEDATA_" + latticePrefix, domain: domain, log: log, aliases: map[string]string{}}
}

func (s *claimsStore) start(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if s.domain != "" {
		js, err = jetstream.NewWithDomain(nc, s.domain)
	}
	if err != nil {
		return err
	}
	kv, err := js.KeyValue(ctx, s.bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: s.bucket, History: 1})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, s.bucket)
		}
	}
	if err != nil {
		return fmt.Errorf("host: lattice bucket %s: %w", s.bucket, err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	// Every key is one subject token, so "CLAIMS_*" would not filter: watch all and keep the claims.
	w, err := kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("host: watch %s: %w", s.bucket, err)
	}
	s.kv = kv
	s.stopWatch = func() { _ = w.Stop(); cancel() }
	s.watching.Add(1)
	go func() {
		defer s.watching.Done()
		for e := range w.Updates() {
			if e != nil {
				s.apply(e)
			}
		}
	}()
	return nil
}

// decodeEntry checks one bucket entry: the key must be CLAIMS_ followed by an actor or provider key equal to
// the entry's subject. It returns the subject and the call alias.
func decodeEntry(key string, value []byte) (subject, alias string, err error) {
	var c storedClaims
	if err := json.Unmarshal(value, &c); err != nil {
		return "", "", fmt.Errorf("malformed claims entry %s: %w", key, err)
	}
	subject = c.Subject
	if subject == "" {
		subject = c.OTPSubject
	}
	id := strings.TrimPrefix(key, "CLAIMS_")
	if subject != id || nkey.CheckID(id, nkey.Module, nkey.Service) != nil {
		return "", "", fmt.Errorf("claims entry %s names subject %q", key, subject)
	}
	return subject, c.CallAlias, nil
}

// apply records one bucket entry. A malformed or forged entry is ignored with a warning.
func (s *claimsStore) apply(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut || !strings.HasPrefix(e.Key(), "CLAIMS_") {
		return
	}
	key, alias, err := decodeEntry(e.Key(), e.Value())
	if err != nil {
		s.log.Warn("ignoring a lattice claims entry", attrReason, err)
		return
	}
	if alias == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch owner, ok := s.aliases[alias]; {
	case !ok:
		s.aliases[alias] = key
	case owner != key:
		s.log.Warn("call alias clash: keeping the first actor that claimed it", "call_alias", alias, "owner", owner, "claimant", key)
	}
}

// LookupAlias finds the actor that claimed a call alias first in the lattice bucket (for tools outside a
// host, such as the call command).
func LookupAlias(ctx context.Context, nc *nats.Conn, latticePrefix, domain, alias string) (string, error) {
	js, err := jetstream.New(nc)
	if domain != "" {
		js, err = jetstream.NewWithDomain(nc, domain)
	}
	if err != nil {
		return "", err
	}
	kv, err := js.KeyValue(ctx, "LATTICEDATA_"+latticePrefix)
	if err != nil {
		return "", fmt.Errorf("%w %q: lattice bucket: %w", ErrUnknownActor, alias, err)
	}
	keys, err := kv.ListKeys(ctx, jetstream.MetaOnly())
	if err != nil {
		return "", err
	}
	found, first := "", uint64(0)
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, "CLAIMS_") {
			continue
		}
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		subject, a, err := decodeEntry(k, e.Value())
		if err != nil || a != alias {
			continue
		}
		if found == "" || e.Revision() < first {
			found, first = subject, e.Revision()
		}
	}
	if found == "" {
		return "", fmt.Errorf("%w %q", ErrUnknownActor, alias)
	}
	return found, nil
}

func (s *claimsStore) alias(name string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	key, ok := s.aliases[name]
	return key, ok
}

// publish writes the claims of an actor this host started.
func (s *claimsStore) publish(ctx context.Context, c *actor.Claims) {
	if s.kv == nil {
		return
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	b, err := json.Marshal(storedClaims{
		CallAlias: c.CallAlias, Capabilities: c.Caps, Issuer: c.Issuer, Name: c.Name,
		Revision: strconv.Itoa(int(c.Rev)), Subject: c.Subject, Tags: tags, Version: c.Ver,
	})
	if err == nil {
		_, err = s.kv.Put(ctx, "CLAIMS_"+c.Subject, b)
	}
	if err != nil {
		s.log.Warn("could not publish actor claims", attrActor, c.Subject, attrError, err)
	}
}

func (s *claimsStore) stop() {
	if s == nil || s.stopWatch == nil {
		return
	}
	s.stopWatch()
	s.watching.Wait()
}
