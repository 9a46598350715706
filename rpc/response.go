package rpc

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// responseMeta is the wascap metadata of a responder token. The token's subject is the invocation id; the
// metadata binds the response payload and the error text, so neither can be swapped in transit.
type responseMeta = wascap.Response

func responseHashes(msg []byte, errText string) (hash, errHash string) {
	hash = wire.HashHex(sha256.Sum256(msg))
	if errText != "" {
		errHash = wire.HashHex(sha256.Sum256([]byte(errText)))
	}
	return hash, errHash
}

// SignResponse completes a response to the invocation id: it sets InvocationID and ContentLength (len(Msg)),
// and attaches a token signed with the cluster key that binds the id, the payload and the error text. 0.x peers
// ignore the token; our hosts verify it.
func (c *Cluster) SignResponse(resp *wire.Response, invocationID string) error {
	if resp.Msg == nil {
		resp.Msg = []byte{}
	}
	resp.InvocationID = invocationID
	resp.ContentLength = uint64(len(resp.Msg))
	hash, errHash := responseHashes(resp.Msg, resp.Error)
	now := c.now()
	tok, err := c.sign(wascap.Claims{
		ID:       invocationID, // one response per invocation, so the id is unique for this issuer
		Subject:  invocationID,
		IssuedAt: now.Unix(),
		Expires:  now.Add(c.validity).Unix(),
		Revision: wascap.Revision,
	}, responseMeta{Hash: hash, ErrorHash: errHash, HostID: c.hostID})
	if err != nil {
		return err
	}
	resp.Claims = tok
	return nil
}

// ErrorResponse builds a signed response that refuses invocation id with err's text. When signing fails (the
// key was wiped during shutdown) it returns the unsigned refusal, which is still a refusal.
func (c *Cluster) ErrorResponse(invocationID string, err error) *wire.Response {
	resp := &wire.Response{Error: err.Error()}
	if c.SignResponse(resp, invocationID) != nil {
		resp.InvocationID = invocationID
	}
	return resp
}

// VerifyResponse decodes the response to the invocation id and checks it: it must answer that id, and its
// responder token, when present (always, if RequireSignedResponses is set), must be signed by a trusted cluster
// key, be in time, name the id as subject and bind exactly this payload and error text.
//
// A chunked response (content_length above len(msg)) is refused with ErrChunked: use VerifyResponseChunked.
func (c *Cluster) VerifyResponse(msg []byte, invocationID string) (*wire.Response, error) {
	return c.VerifyResponseChunked(msg, invocationID, nil)
}

// VerifyResponseChunked is VerifyResponse for a response whose payload may have been chunked into the object
// store: when content_length exceeds len(msg) (and msg is empty, as chunking leaves it), fetch is given
// content_length (so it can refuse an oversized payload before reading it) and returns the complete payload,
// which must be exactly content_length bytes long. The responder token is then checked
// against that complete payload, and the returned response carries it in Msg. A nil fetch refuses chunked
// responses with ErrChunked.
//
// Nothing is fetched for a response that could not be accepted anyway: the token's signature, issuer, time
// and subject are checked first (and an unsigned response is refused first when signed ones are required),
// so a forged reply cannot make the caller read, and so consume, the genuine reply's payload. Unsigned
// chunked responses from 0.x peers are fetched when unsigned responses are accepted.
func (c *Cluster) VerifyResponseChunked(msg []byte, invocationID string, fetch func(contentLength uint64) ([]byte, error)) (*wire.Response, error) {
	return c.verifyResponse(msg, invocationID, fetch, nil)
}

// verifyResponse is VerifyResponseChunked; provider, when set, is the capability provider that was called:
// its reply may be unsigned (0.x providers cannot sign), and a signed one may also carry a token of the
// provider instance's delegated key (see Delegation).
func (c *Cluster) verifyResponse(msg []byte, invocationID string, fetch func(contentLength uint64) ([]byte, error), provider *wire.Entity) (*wire.Response, error) {
	resp := new(wire.Response)
	if err := resp.UnmarshalMsgpack(msg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	if resp.InvocationID != invocationID {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrResponseID, resp.InvocationID, invocationID)
	}
	var meta *responseMeta
	switch {
	case resp.Claims != "":
		m, err := c.checkResponseToken(resp, invocationID, provider)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrResponseToken, err)
		}
		meta = m
	case c.requireSignedResponses && provider == nil:
		return nil, ErrUnsignedResponse
	}
	if n := uint64(len(resp.Msg)); resp.ContentLength > n {
		switch {
		case n > 0:
			return nil, fmt.Errorf("response: %w: content_length %d, partial msg of %d bytes", ErrLength, resp.ContentLength, n)
		case fetch == nil:
			return nil, fmt.Errorf("response: %w", ErrChunked)
		}
		full, err := fetch(resp.ContentLength)
		if err != nil {
			return nil, fmt.Errorf("response: %w: fetch chunked payload: %w", ErrChunked, err)
		}
		if uint64(len(full)) != resp.ContentLength {
			return nil, fmt.Errorf("response: %w: content_length %d, chunked payload %d bytes", ErrLength, resp.ContentLength, len(full))
		}
		resp.Msg = full
	}
	if meta != nil {
		hash, errHash := responseHashes(resp.Msg, resp.Error)
		if meta.Hash != hash || meta.ErrorHash != errHash {
			return nil, fmt.Errorf("%w: payload or error text differs from what the responder signed", ErrResponseToken)
		}
	}
	return resp, nil
}

// checkResponseToken checks the responder token of resp, all but the hashes (the payload may still have to be
// fetched), and returns its metadata. Its errors deliberately do not wrap the invocation refusals
// (ErrHashMismatch, ...): the caller reports them all as ErrResponseToken.
func (c *Cluster) checkResponseToken(resp *wire.Response, invocationID string, provider *wire.Entity) (*responseMeta, error) {
	tok, err := wascap.Parse(resp.Claims)
	if err != nil {
		return nil, err
	}
	if trusted, ok := c.issuer(tok.Claims.Issuer); ok {
		err = tok.Verify(trusted.key)
	} else if d, _ := c.delegation(tok.Claims.Issuer, c.now()); provider != nil && d != nil &&
		checkScope(d, provider.PublicKey, provider.ContractID, provider.LinkName) == nil {
		_, err = tok.VerifyIssuer(nkey.Cluster)
	} else {
		return nil, fmt.Errorf("responder key %s is not trusted", printable(tok.Claims.Issuer))
	}
	if err != nil {
		return nil, err
	}
	if err := c.revoked.Load().Check("responder key", tok.Claims.Issuer, time.Unix(tok.Claims.IssuedAt, 0)); err != nil {
		return nil, err
	}
	if _, err := c.checkTime(&tok.Claims, c.now()); err != nil {
		return nil, errors.New(err.Error())
	}
	if tok.Claims.Subject != invocationID {
		return nil, fmt.Errorf("token answers invocation %q", tok.Claims.Subject)
	}
	var meta responseMeta
	if err := tok.DecodeMetadata(&meta); err != nil {
		return nil, err
	}
	return &meta, nil
}

// ResponsePayload verifies the reply to the invocation id with VerifyResponseChunked and returns its payload,
// or its error text as a *RemoteError. A reply that does not verify usually still says why the callee refused
// (a refusing host signs its refusal with a key the caller may not trust): that text is added to the
// verification error, marked as unverified.
func (c *Cluster) ResponsePayload(reply []byte, id string, fetch func(contentLength uint64) ([]byte, error)) ([]byte, error) {
	return c.responsePayload(reply, id, fetch, nil)
}

func (c *Cluster) responsePayload(reply []byte, id string, fetch func(contentLength uint64) ([]byte, error), provider *wire.Entity) ([]byte, error) {
	resp, err := c.verifyResponse(reply, id, fetch, provider)
	if err != nil {
		var unverified wire.Response
		if errors.Is(err, ErrResponseToken) && unverified.UnmarshalMsgpack(reply) == nil && unverified.Error != "" {
			return nil, fmt.Errorf("%w (unverified response says: %s)", err, unverified.Error)
		}
		return nil, err
	}
	if resp.Error != "" {
		return nil, &RemoteError{Message: resp.Error}
	}
	return resp.Msg, nil
}

// Reply waits for the verified reply to one invocation among the replies that arrive (see lattice.Requester):
// Accept takes a reply that verifies, whether it carries a payload or the responder's error, and refuses one
// that does not, so that the next one is tried; Result then returns what the verified reply said.
type Reply struct {
	c        *Cluster
	id       string
	provider *wire.Entity // the called capability provider, or nil for an actor
	fetch    func(contentLength uint64) ([]byte, error)
	payload  []byte
	err      error
}

// NewReply returns the Reply to the invocation id; fetch reads a chunked reply's payload (see
// VerifyResponseChunked).
func (c *Cluster) NewReply(id string, fetch func(contentLength uint64) ([]byte, error)) *Reply {
	return &Reply{c: c, id: id, fetch: fetch}
}

// NewProviderReply returns the Reply to the invocation id sent to the capability provider p. A provider's
// reply is accepted unsigned (0.x providers cannot sign responses, whatever RequireSignedResponses says); a
// signed one must verify, under a trusted cluster key or the delegated key of that provider instance.
func (c *Cluster) NewProviderReply(id string, p wire.Entity, fetch func(contentLength uint64) ([]byte, error)) *Reply {
	return &Reply{c: c, id: id, fetch: fetch, provider: &p}
}

// Plausible is a cheap first look at a reply, without a signature check: it must answer this invocation and,
// unless unsigned replies are accepted, carry a token whose issuer is trusted and whose subject is the
// invocation. A Requester drops implausible replies as they arrive, so a flood of forgeries fills nothing.
func (r *Reply) Plausible(reply []byte) bool {
	var resp wire.Response
	if resp.UnmarshalMsgpack(reply) != nil || resp.InvocationID != r.id {
		return false
	}
	if resp.Claims == "" {
		return !r.c.requireSignedResponses || r.provider != nil
	}
	tok, err := wascap.Parse(resp.Claims)
	if err != nil {
		return false
	}
	_, trusted := r.c.issuer(tok.Claims.Issuer)
	if !trusted && r.provider != nil {
		d, _ := r.c.delegation(tok.Claims.Issuer, r.c.now())
		trusted = d != nil && d.ProviderKey == r.provider.PublicKey
	}
	return trusted && tok.Claims.Subject == r.id
}

// Accept verifies one reply. It returns nil when the reply verified, and why it does not otherwise.
func (r *Reply) Accept(reply []byte) error {
	payload, err := r.c.responsePayload(reply, r.id, r.fetch, r.provider)
	var remote *RemoteError
	if err != nil && !errors.As(err, &remote) {
		return err
	}
	r.payload, r.err = payload, err
	return nil
}

// Result returns the payload of the accepted reply, or its error text as a *RemoteError.
func (r *Reply) Result() ([]byte, error) { return r.payload, r.err }
