package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// The built-in providers' public keys. Operators link actors to them by key, exactly as to an external
// provider. The keys are identifiers only: they derive from fixed, public seeds and never sign anything (the
// invocations built-in providers deliver are signed with the cluster key).
var (
	BuiltinHTTPServer = builtinKey("httpserver")
	BuiltinKeyValue   = builtinKey("keyvalue")
	BuiltinMessaging  = builtinKey("messaging")
)

func builtinKey(name string) string {
	seed := sha256.Sum256([]byte("wasmcloud-host built-in provider " + name))
	kp, err := nkey.FromRawSeed(nkey.Service, seed[:])
	if err != nil {
		panic(err) // a fixed, valid input: unreachable
	}
	defer kp.Wipe()
	return kp.Public().String()
}

// builtinProviders lists the built-in providers for inventories.
func builtinProviders() []control.ProviderDescription {
	p := func(key, contract, name string) control.ProviderDescription {
		return control.ProviderDescription{ID: key, ImageRef: "builtin:" + name, ContractID: contract, LinkName: "default",
			Name: "built-in " + name, Annotations: map[string]string{}}
	}
	return []control.ProviderDescription{
		p(BuiltinHTTPServer, contract.ContractHTTPServer, "httpserver"),
		p(BuiltinKeyValue, contract.ContractKeyValue, "keyvalue"),
		p(BuiltinMessaging, contract.ContractMessaging, "messaging"),
	}
}

// refusalCounter counts refused capability calls by reason.
type refusalCounter struct {
	mu sync.Mutex
	n  map[string]int64 // guarded by mu
}

func (c *refusalCounter) add(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[reason]++
}

// RefusedCalls returns how many capability calls were refused, by reason.
func (h *Host) RefusedCalls() map[string]int64 {
	h.refused.mu.Lock()
	defer h.refused.mu.Unlock()
	out := make(map[string]int64, len(h.refused.n))
	for k, v := range h.refused.n {
		out[k] = v
	}
	return out
}

// capabilityCall is the one place every capability call from an actor passes: the actor's signed claims must
// list the contract (built-ins included, stricter than wasmCloud, which skips them), every contract but the
// host-local built-ins also needs a link for (actor, contract, link name), and the policy hook is asked. Only
// then is the call dispatched.
func (h *Host) capabilityCall(ctx context.Context, caller *actor.Claims, binding, contractID, op string, payload []byte) ([]byte, error) {
	if binding == "" {
		binding = "default"
	}
	if !caller.HasCap(contractID) {
		return nil, h.refuseCall(caller, contractID, binding, fmt.Errorf("%w %s", ErrCapabilityNotClaimed, contractID))
	}
	builtin := strings.HasPrefix(contractID, "wasmcloud:builtin:")
	var link control.LinkDefinition
	if !builtin {
		var ok bool
		if link, ok = h.data.Link(caller.Subject, contractID, binding); !ok {
			return nil, h.refuseCall(caller, contractID, binding, fmt.Errorf("%w for %s (link name %q) to actor %s", ErrNoProvider, contractID, binding, caller.Subject))
		}
	}
	if err := h.policy(ctx, caller, contractID, binding); err != nil {
		return nil, h.refuseCall(caller, contractID, binding, err)
	}
	switch {
	case contractID == contract.ContractLogging:
		return h.writeLog(caller, op, payload)
	case contractID == contract.ContractNumberGen:
		return numberGen(op, payload)
	case link.ProviderID == BuiltinKeyValue && contractID == contract.ContractKeyValue:
		return h.keyValueCall(ctx, link, op, payload)
	case link.ProviderID == BuiltinMessaging && contractID == contract.ContractMessaging:
		return h.messagingCall(ctx, caller, link, op, payload)
	}
	return nil, h.refuseCall(caller, contractID, binding, fmt.Errorf("%w: provider %s is not one of this host's built-in providers for %s", ErrNoProvider, link.ProviderID, contractID))
}

// policy is the hook a policy service will answer; until then every call that passed the claims and link
// checks is allowed.
func (h *Host) policy(context.Context, *actor.Claims, string, string) error { return nil }

// refuseCall logs and counts a refused capability call and returns the error the guest sees.
func (h *Host) refuseCall(caller *actor.Claims, contract, binding string, err error) error {
	reason := "other"
	switch {
	case strings.Contains(err.Error(), ErrCapabilityNotClaimed.Error()):
		reason = "not_claimed"
	case strings.Contains(err.Error(), ErrNoProvider.Error()):
		reason = "not_linked"
	}
	h.refused.add(reason)
	h.log.Warn("refused capability call", attrActor, caller.Subject, "contract", contract, "link_name", binding, attrReason, err)
	return err
}

// writeLog is the built-in wasmcloud:builtin:logging provider: the entry goes into the host's log with the
// actor's key.
func (h *Host) writeLog(caller *actor.Claims, op string, payload []byte) ([]byte, error) {
	if op != contract.OpLoggingWriteLog {
		return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
	}
	var e contract.LogEntry
	if err := e.UnmarshalMsgpack(payload); err != nil {
		return nil, err
	}
	level := slog.LevelInfo
	switch strings.ToLower(e.Level) {
	case "debug", "trace":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error", "critical":
		level = slog.LevelError
	}
	h.log.Log(context.Background(), level, e.Text, attrActor, caller.Subject, "source", "actor")
	return nil, nil
}

// numberGen is the built-in wasmcloud:builtin:numbergen provider, from crypto/rand.
func numberGen(op string, payload []byte) ([]byte, error) {
	switch op {
	case contract.OpNumberGenGenerateGuid:
		return contract.AppendString(nil, wire.NewID()), nil
	case contract.OpNumberGenRandom32:
		return contract.AppendU32(nil, random32()), nil
	case contract.OpNumberGenRandomInRange:
		var r contract.RangeLimit
		if err := r.UnmarshalMsgpack(payload); err != nil {
			return nil, err
		}
		if r.Min > r.Max {
			return nil, fmt.Errorf("host: NumberGen.RandomInRange: min %d is above max %d", r.Min, r.Max)
		}
		span := uint64(r.Max) - uint64(r.Min) + 1
		// Rejection sampling: no modulo bias.
		limit := (1 << 32) - (1<<32)%span
		for {
			if v := uint64(random32()); v < limit {
				return contract.AppendU32(nil, r.Min+uint32(v%span)), nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownOperation, op)
}

func random32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.LittleEndian.Uint32(b[:])
}
