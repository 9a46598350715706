package httpserver

import (
	"context"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// Deliver sends an invocation from the provider (from) to the actor actorKey and returns its reply. It
// returns an error matching ErrActorGone when the actor no longer runs on this host.
type Deliver func(ctx context.Context, from wire.Entity, actorKey, operation string, payload []byte) ([]byte, error)

// BindActor serves the address a link's values name (see ParseAddress) for the actor actorKey: each request
// becomes HttpServer.HandleRequest, delivered through deliver as an invocation from the provider key from
// (so the actor's claims must list wasmcloud:httpserver). It returns the address as the Server keys it, for
// Unbind.
func (s *Server) BindActor(values map[string]string, from wire.Entity, actorKey string, deliver Deliver) (string, error) {
	l, err := s.ParseLink(values)
	if err != nil {
		return "", err
	}
	addr := l.Addr
	err = s.BindWith(addr, actorKey, l.Limits, func(ctx context.Context, req *contract.HTTPRequest) (*contract.HTTPResponse, error) {
		out, err := deliver(ctx, from, actorKey, contract.OpHTTPServerHandleRequest, req.AppendMsgpack(nil))
		if err != nil {
			return nil, err
		}
		var resp contract.HTTPResponse
		if err := resp.UnmarshalMsgpack(out); err != nil {
			return nil, err
		}
		return &resp, nil
	})
	if err != nil {
		return "", err
	}
	return addr, nil
}

// ParseLink is ParseLink with the Server's Config as the defaults of the limits.
func (s *Server) ParseLink(values map[string]string) (Link, error) {
	return ParseLink(values, s.cfg.Limits())
}
