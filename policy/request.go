package policy

import (
	"encoding/binary"
	"maps"
	"slices"
)

// Action is what a policy service is asked to permit; its value is the "action" string on the wire.
type Action string

// The actions. The first three are wasmCloud 0.x's; ActionPutLink is this host's extension, asked before
// a link definition is stored, so that a policy can rule on link values (which bucket, which subject).
const (
	ActionStartActor        Action = "start_actor"
	ActionStartProvider     Action = "start_provider"
	ActionPerformInvocation Action = "perform_invocation"
	ActionPutLink           Action = "put_link"
)

// valid reports whether a is one of the four actions.
func (a Action) valid() bool {
	switch a {
	case ActionStartActor, ActionStartProvider, ActionPerformInvocation, ActionPutLink:
		return true
	}
	return false
}

// Entity describes the source or the target of a request: an actor (PublicKey M…, Capabilities) or a
// provider (PublicKey V…, ContractID, LinkName), with what its signed claims say. For start actions the
// source is the zero Entity. Source entities are sent with all eight fields; targets with the four
// that 0.x hosts send for a target (publicKey, issuer, contractId, linkName).
type Entity struct {
	PublicKey    string   // "publicKey"
	ContractID   string   // "contractId": a provider's contract, empty for an actor
	LinkName     string   // "linkName": a provider's link name, empty for an actor
	Issuer       string   // "issuer": the account key that signed the claims
	Capabilities []string // "capabilities": an actor's claimed contracts (source only)
	IssuedOn     string   // "issuedOn": the claims' iat as decimal seconds, as wasmCloud 0.82 sends it (source only)
	ExpiresAt    *int64   // "expiresAt": the claims' exp in Unix seconds, null when they do not expire (source only)
	Expired      bool     // "expired": whether the claims have expired (source only)
}

// HostInfo describes the asking host; it is the same in every request of a Service.
type HostInfo struct {
	PublicKey      string            // "publicKey": the host's N… key
	Issuer         string            // "issuer": the cluster key's public key (the OTP host sends it, wasmCloud 0.82 does not)
	LatticeID      string            // "latticeId"
	Labels         map[string]string // "labels"
	ClusterIssuers []string          // "clusterIssuers"
}

// LinkRequest is the link definition a put_link asks about.
type LinkRequest struct {
	ActorID    string            // the actor's M… key ("actor_public_key")
	ProviderID string            // the provider's V… key ("provider_id")
	ContractID string            // "provider_contract", e.g. "wasmcloud:keyvalue"
	LinkName   string            // "link_name", e.g. "default"
	Values     map[string]string // "link_values"
}

// Request is one question to the policy service.
type Request struct {
	Action Action
	// Source is who acts: the calling actor or provider for perform_invocation, the actor for
	// put_link, zero for the start actions.
	Source Entity
	// Target is what is acted on: the actor or provider to start, the actor invoked, the provider
	// linked to.
	Target Entity
	// Link is required for ActionPutLink and must be nil otherwise. Decide fills the source's public
	// key and the target's public key, contract and link name from it when they are empty; values that
	// are set must agree with it.
	Link *LinkRequest
}

// Decision is the outcome of Decide. Permitted is true exactly when Decide returned no error.
type Decision struct {
	// Permitted reports whether the action may go ahead.
	Permitted bool
	// Message is the policy service's reason (a denial's, usually), or what went wrong.
	Message string
	// Cached reports whether the decision came from the cache rather than a question asked now.
	Cached bool
	// RequestID is the id of the question that produced the decision (empty when the service is
	// disabled or nothing was asked).
	RequestID string
}

// normalize checks r and fills a put_link's source and target from its link. It returns the request
// to send and the text that names its subject in errors.
func normalize(r Request) (Request, string, error) {
	if !r.Action.valid() {
		return r, "", &Error{Kind: ErrInvalidRequest, Action: r.Action, Reason: "unknown action " + quote(string(r.Action))}
	}
	if r.Action != ActionPutLink {
		if r.Link != nil {
			return r, r.Target.PublicKey, &Error{Kind: ErrInvalidRequest, Action: r.Action, Subject: r.Target.PublicKey, Reason: "a link is only asked about with put_link"}
		}
		return r, r.Target.PublicKey, nil
	}
	l := r.Link
	if l == nil {
		return r, "", &Error{Kind: ErrInvalidRequest, Action: r.Action, Reason: "put_link without a link"}
	}
	subject := l.ActorID + "->" + l.ProviderID + " " + l.ContractID + "/" + l.LinkName
	fail := func(reason string) (Request, string, error) {
		return r, subject, &Error{Kind: ErrInvalidRequest, Action: r.Action, Subject: subject, Reason: reason}
	}
	switch {
	case l.ActorID == "":
		return fail("the link has no actor")
	case l.ProviderID == "":
		return fail("the link has no provider")
	case l.ContractID == "":
		return fail("the link has no contract")
	case l.LinkName == "":
		return fail("the link has no link name")
	}
	fill := func(field *string, want string) bool {
		if *field == "" {
			*field = want
		}
		return *field == want
	}
	if !fill(&r.Source.PublicKey, l.ActorID) {
		return fail("source public key " + r.Source.PublicKey + " is not the link's actor")
	}
	if !fill(&r.Target.PublicKey, l.ProviderID) {
		return fail("target public key " + r.Target.PublicKey + " is not the link's provider")
	}
	if !fill(&r.Target.ContractID, l.ContractID) {
		return fail("target contract " + r.Target.ContractID + " is not the link's contract")
	}
	if !fill(&r.Target.LinkName, l.LinkName) {
		return fail("target link name " + r.Target.LinkName + " is not the link's link name")
	}
	return r, subject, nil
}

// appendKey appends the cache key of a normalized request: every field that is sent, except the
// request id and the host (the same for every request of a Service), each length-prefixed so that
// no two requests share a key.
func appendKey(b []byte, r *Request) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(string(r.Action))
	for _, e := range [2]*Entity{&r.Source, &r.Target} {
		str(e.PublicKey)
		str(e.ContractID)
		str(e.LinkName)
		str(e.Issuer)
		b = binary.AppendUvarint(b, uint64(len(e.Capabilities)))
		for _, c := range e.Capabilities {
			str(c)
		}
		str(e.IssuedOn)
		switch {
		case e.ExpiresAt == nil:
			b = append(b, 0)
		default:
			b = append(b, 1)
			b = binary.AppendVarint(b, *e.ExpiresAt)
		}
		if e.Expired {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	if l := r.Link; l != nil {
		b = append(b, 1)
		str(l.ActorID)
		str(l.ProviderID)
		str(l.ContractID)
		str(l.LinkName)
		b = binary.AppendUvarint(b, uint64(len(l.Values)))
		for _, k := range slices.Sorted(maps.Keys(l.Values)) {
			str(k)
			str(l.Values[k])
		}
	} else {
		b = append(b, 0)
	}
	return b
}
