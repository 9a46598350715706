package client

// The control-interface client: what `wasmcloud-host ctl …` (and tests of the host's control server) use to
// ask the hosts of a lattice what runs where and to tell them what to run. It speaks wasmCloud 0.x's JSON on
// {prefix}.{lattice}.*, so it drives 0.x hosts as well as ours.
//
// Two request shapes exist. Questions every host answers (ping.hosts, auction.actor) are scatter-gather: the
// client publishes once with a private reply subject and collects answers until its timeout, because it
// cannot know how many hosts there are. Everything else is one request and one reply: a host-addressed
// command (cmd.{host}.*), a question a queue group answers once (get.links, get.claims), or a broadcast
// whose first acknowledgement is enough (registries.put).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// DefaultCtlTimeout is the time a CtlClient waits for a reply, and the length of a scatter-gather window,
// when NewCtlClient is given zero.
const DefaultCtlTimeout = 2 * time.Second

// CtlClient sends control-interface requests on one NATS connection. It holds no state besides its
// configuration and is safe for concurrent use.
type CtlClient struct {
	nc      *nats.Conn
	subj    lattice.CtlSubjects
	timeout time.Duration
	err     error           // a configuration error that every method returns
	signer  *control.Signer // signs the requests that change the lattice; nil: unsigned, as 0.x clients send
}

// NewCtlClient returns a client for the lattice called latticeName under the control subject prefix prefix
// (wasmbus.ctl by default in 0.x). timeout bounds each request and is the length of each scatter-gather
// window (DefaultCtlTimeout when zero or negative). It does no I/O; an invalid prefix or lattice is reported
// by every method, as an error matching ErrCtlInvalid.
func NewCtlClient(nc *nats.Conn, prefix, latticeName string, timeout time.Duration) *CtlClient {
	if timeout <= 0 {
		timeout = DefaultCtlTimeout
	}
	c := &CtlClient{nc: nc, subj: lattice.NewCtlSubjects(prefix, latticeName), timeout: timeout}
	switch {
	case nc == nil:
		c.err = fmt.Errorf("%w: no NATS connection", ErrCtlInvalid)
	case subject.ValidateSubject(prefix, false) != nil:
		c.err = fmt.Errorf("%w: control prefix %q is not a NATS subject", ErrCtlInvalid, prefix)
	case subject.ValidateToken(latticeName) != nil:
		c.err = fmt.Errorf("%w: lattice %q is not one NATS subject token", ErrCtlInvalid, latticeName)
	}
	return c
}

// SignWith makes c sign every request that changes the lattice (link put and del, registries, and every
// host command) with s, in the control.TokenHeader header; the body stays the 0.x JSON. nil sends them
// unsigned. It returns c; the caller keeps s and wipes it when done. Call it before c is shared.
func (c *CtlClient) SignWith(s *control.Signer) *CtlClient {
	c.signer = s
	return c
}

// Timeout returns the request timeout and scatter-gather window of c.
func (c *CtlClient) Timeout() time.Duration { return c.timeout }

// Hosts pings every host of the lattice and returns their answers, sorted by id, one per host. It gathers
// answers until the timeout passes or ctx ends; when ctx ends first, it returns the answers gathered so far
// with ctx's error. Nobody answering is not an error: the list is empty. A malformed answer does not hide
// the others: they are returned with an error matching ErrCtlBadReply.
func (c *CtlClient) Hosts(ctx context.Context) ([]control.HostInfo, error) {
	if c.err != nil {
		return nil, c.err
	}
	hosts, err := gather(ctx, c, c.subj.PingHosts(), nil, func(h *control.HostInfo) (string, error) {
		if h.ID == "" {
			return "", errors.New("no host id")
		}
		return h.ID, nil
	})
	slices.SortFunc(hosts, func(a, b control.HostInfo) int { return strings.Compare(a.ID, b.ID) })
	return hosts, err
}

// AuctionActor asks every host whether it would run the actor ref under constraints (labels the host must
// have) and returns the bids in the order they arrived, one per host. Like Hosts it gathers until the
// timeout or the end of ctx; no bid is an empty list, not an error.
func (c *CtlClient) AuctionActor(ctx context.Context, ref string, constraints map[string]string) ([]control.ActorAuctionAck, error) {
	if c.err != nil {
		return nil, c.err
	}
	if ref == "" {
		return nil, fmt.Errorf("%w: auction: no actor reference", ErrCtlInvalid)
	}
	if constraints == nil {
		constraints = map[string]string{} // 0.x hosts expect an object
	}
	req, err := json.Marshal(control.ActorAuctionRequest{ActorRef: ref, Constraints: constraints})
	if err != nil {
		return nil, fmt.Errorf("client: encode auction request: %w", err)
	}
	return gather(ctx, c, c.subj.Auction(), req, func(a *control.ActorAuctionAck) (string, error) {
		if a.HostID == "" {
			return "", errors.New("bid without host_id")
		}
		return a.HostID, nil
	})
}

// AuctionProvider asks every host whether it would run the provider archive ref under linkName (the default
// link name when empty) and constraints, and returns the bids in the order they arrived, one per host.
func (c *CtlClient) AuctionProvider(ctx context.Context, ref, linkName string, constraints map[string]string) ([]control.ProviderAuctionAck, error) {
	if c.err != nil {
		return nil, c.err
	}
	if ref == "" {
		return nil, fmt.Errorf("%w: auction: no provider reference", ErrCtlInvalid)
	}
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	if constraints == nil {
		constraints = map[string]string{}
	}
	req, err := json.Marshal(control.ProviderAuctionRequest{ProviderRef: ref, LinkName: linkName, Constraints: constraints})
	if err != nil {
		return nil, fmt.Errorf("client: encode auction request: %w", err)
	}
	return gather(ctx, c, c.subj.ProviderAuction(), req, func(a *control.ProviderAuctionAck) (string, error) {
		if a.HostID == "" {
			return "", errors.New("bid without host_id")
		}
		return a.HostID, nil
	})
}

// StartProvider tells the host hostID to run the provider archive ref under linkName (the default link name
// when empty). The host acknowledges before the archive is fetched and verified; a failure after that is
// reported as a provider_start_failed event.
func (c *CtlClient) StartProvider(ctx context.Context, hostID, ref, linkName string, annotations map[string]string) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if ref == "" {
		return fmt.Errorf("%w: start provider: no provider reference", ErrCtlInvalid)
	}
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdStartProvider),
		control.StartProviderCommand{ProviderRef: ref, LinkName: linkName, Annotations: annotations, HostID: hostID})
}

// StopProvider tells the host hostID to stop the provider providerKey running under linkName.
func (c *CtlClient) StopProvider(ctx context.Context, hostID, providerKey, linkName string) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if providerKey == "" {
		return fmt.Errorf("%w: stop provider: no provider key", ErrCtlInvalid)
	}
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdStopProvider),
		control.StopProviderCommand{ProviderRef: providerKey, LinkName: linkName, HostID: hostID})
}

// Inventory asks the host hostID for the actors and providers it runs.
func (c *CtlClient) Inventory(ctx context.Context, hostID string) (control.HostInventory, error) {
	var inv control.HostInventory
	if err := c.checkHost(hostID); err != nil {
		return inv, err
	}
	err := c.query(ctx, c.subj.Inventory(hostID), &inv)
	return inv, err
}

// Claims returns the claims of every actor and provider the lattice knows, as one host of it reports them
// (one map of strings each, caps and tags comma-joined, in the layout of wasmCloud's OTP host).
func (c *CtlClient) Claims(ctx context.Context) ([]map[string]string, error) {
	if c.err != nil {
		return nil, c.err
	}
	var l control.ClaimsList
	err := c.query(ctx, c.subj.Claims(), &l)
	return l.Claims, err
}

// Links returns every link definition of the lattice, as one host of it reports them.
func (c *CtlClient) Links(ctx context.Context) ([]control.LinkDefinition, error) {
	if c.err != nil {
		return nil, c.err
	}
	var l control.LinkDefinitionList
	err := c.query(ctx, c.subj.Links(), &l)
	return l.Links, err
}

// PutLink stores a link definition in the lattice. An empty LinkName means control.DefaultLinkName and nil Values an
// empty map; actor, provider and contract are required.
func (c *CtlClient) PutLink(ctx context.Context, ld control.LinkDefinition) error {
	if ld.LinkName == "" {
		ld.LinkName = control.DefaultLinkName
	}
	if ld.Values == nil {
		ld.Values = map[string]string{}
	}
	if err := ld.Validate(); err != nil {
		return fmt.Errorf("%w: link definition: %w", ErrCtlInvalid, err)
	}
	return c.command(ctx, c.subj.LinkPut(), ld)
}

// DelLink removes the link definition of actor, contract and linkName (control.DefaultLinkName when empty).
func (c *CtlClient) DelLink(ctx context.Context, actor, contract, linkName string) error {
	if linkName == "" {
		linkName = control.DefaultLinkName
	}
	r := control.RemoveLinkDefinition{ActorID: actor, ContractID: contract, LinkName: linkName}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: link deletion: %w", ErrCtlInvalid, err)
	}
	return c.command(ctx, c.subj.LinkDel(), r)
}

// StartActor tells the host hostID to start count instances (one when zero) of the actor ref, with
// annotations (nil for none). The host acknowledges before the actor is fetched and started; a failure
// after that is reported as a lattice event, not here.
func (c *CtlClient) StartActor(ctx context.Context, hostID, ref string, count uint16, annotations map[string]string) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if ref == "" {
		return fmt.Errorf("%w: start actor: no actor reference", ErrCtlInvalid)
	}
	count = max(count, 1)
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdStartActor),
		control.StartActorCommand{ActorRef: ref, Count: count, Annotations: annotations, HostID: hostID})
}

// StopActor tells the host hostID to stop count instances (every instance when zero) of the actor whose
// public key is actorKey.
func (c *CtlClient) StopActor(ctx context.Context, hostID, actorKey string, count uint16) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if actorKey == "" {
		return fmt.Errorf("%w: stop actor: no actor key", ErrCtlInvalid)
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdStopActor), control.StopActorCommand{ActorRef: actorKey, Count: count, HostID: hostID})
}

// ScaleActor tells the host hostID to run exactly count instances of the actor actorKey, whose image
// reference is ref (OTP hosts start new instances from it; it may be empty when the host runs the actor
// already).
func (c *CtlClient) ScaleActor(ctx context.Context, hostID, actorKey, ref string, count uint16) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if actorKey == "" {
		return fmt.Errorf("%w: scale actor: no actor key", ErrCtlInvalid)
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdScaleActor),
		control.ScaleActorCommand{ActorID: actorKey, ActorRef: ref, Count: &count, HostID: hostID})
}

// UpdateActor tells the host hostID to replace the actor actorKey with the module at newRef, which must be
// the same actor at a higher revision.
func (c *CtlClient) UpdateActor(ctx context.Context, hostID, actorKey, newRef string) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	if newRef == "" {
		return fmt.Errorf("%w: update actor: no new reference", ErrCtlInvalid)
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdUpdateActor),
		control.UpdateActorCommand{ActorID: actorKey, NewActorRef: newRef, HostID: hostID})
}

// StopHost tells the host hostID to shut down, giving it timeout to drain (the host's default when zero;
// sent in whole milliseconds).
func (c *CtlClient) StopHost(ctx context.Context, hostID string, timeout time.Duration) error {
	if err := c.checkHost(hostID); err != nil {
		return err
	}
	cmd := control.StopHostCommand{HostID: hostID}
	if timeout > 0 {
		ms := uint64(timeout.Milliseconds())
		cmd.Timeout = &ms
	}
	return c.command(ctx, c.subj.Command(hostID, lattice.CmdStopHost), cmd)
}

// PutRegistries gives every host of the lattice the credentials of the registries in creds. Every host
// receives them; the first acknowledgement is the answer.
func (c *CtlClient) PutRegistries(ctx context.Context, creds control.RegistryCredentialMap) error {
	if creds == nil {
		creds = control.RegistryCredentialMap{}
	}
	if err := creds.Validate(); err != nil {
		return fmt.Errorf("%w: registries: %w", ErrCtlInvalid, err)
	}
	return c.command(ctx, c.subj.Registries(), creds)
}

// checkHost returns c's configuration error, or an error if hostID cannot be put into a subject.
func (c *CtlClient) checkHost(hostID string) error {
	if c.err != nil {
		return c.err
	}
	if subject.ValidateToken(hostID) != nil {
		return fmt.Errorf("%w: host id %q is not one NATS subject token", ErrCtlInvalid, hostID)
	}
	return nil
}

// command sends the JSON of req to subject and turns the host's acknowledgement into an error.
func (c *CtlClient) command(ctx context.Context, subject string, req any) error {
	if c.err != nil {
		return c.err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("client: encode request for %s: %w", subject, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = body
	if c.signer != nil {
		token, err := c.signer.Sign(subject, body)
		if err != nil {
			return fmt.Errorf("client: sign request for %s: %w", subject, err)
		}
		msg.Header.Set(control.TokenHeader, token)
	}
	reply, err := c.requestMsg(ctx, msg)
	if err != nil {
		return err
	}
	err = parseAck(subject, reply)
	var refused *CtlRefusedError
	if c.signer == nil && errors.As(err, &refused) {
		refused.Unsigned = true
	}
	return err
}

// parseAck turns the acknowledgement reply of a command sent to subject into nil (accepted), a
// *CtlRefusedError, or an error matching ErrCtlBadReply.
func parseAck(subject string, reply []byte) error {
	var ack struct {
		Accepted *bool  `json:"accepted"`
		Error    string `json:"error"`
	}
	if err := decodeObject(reply, &ack); err != nil {
		return fmt.Errorf("%w on %s: %w", ErrCtlBadReply, subject, err)
	}
	if ack.Accepted == nil {
		return fmt.Errorf("%w on %s: no \"accepted\" field", ErrCtlBadReply, subject)
	}
	if !*ack.Accepted {
		return &CtlRefusedError{Subject: subject, Message: ack.Error}
	}
	return nil
}

// query sends an empty request to subject and decodes the reply into v.
func (c *CtlClient) query(ctx context.Context, subject string, v any) error {
	reply, err := c.request(ctx, subject, nil)
	if err != nil {
		return err
	}
	if err := decodeObject(reply, v); err != nil {
		return fmt.Errorf("%w on %s: %w", ErrCtlBadReply, subject, err)
	}
	return nil
}

// request sends one request and waits for one reply, mapping NATS's ways of saying "nobody answered" to
// ErrNoHostAnswered.
func (c *CtlClient) request(ctx context.Context, subject string, body []byte) ([]byte, error) {
	msg := nats.NewMsg(subject)
	msg.Data = body
	return c.requestMsg(ctx, msg)
}

// requestMsg is request with a message that may carry headers.
func (c *CtlClient) requestMsg(ctx context.Context, m *nats.Msg) ([]byte, error) {
	subject := m.Subject
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := c.nc.RequestMsgWithContext(rctx, m)
	switch {
	case err == nil:
		return msg.Data, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("client: %s: %w", subject, ctx.Err())
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("%w on %s: nobody subscribes to it", ErrNoHostAnswered, subject)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return nil, fmt.Errorf("%w on %s within %s", ErrNoHostAnswered, subject, c.timeout)
	default:
		return nil, fmt.Errorf("client: %s: %w", subject, err)
	}
}

// gather publishes body to subject with a private reply subject and decodes every reply into a T until the
// timeout passes or ctx ends. check returns a reply's key (its host id): a second reply with a key already
// seen is dropped, and a reply check refuses is reported like malformed JSON. The replies that decoded are
// returned in arrival order, with the errors of those that did not joined.
func gather[T any](ctx context.Context, c *CtlClient, subject string, body []byte, check func(*T) (string, error)) ([]T, error) {
	inbox := c.nc.NewInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("client: %s: subscribe to replies: %w", subject, err)
	}
	defer sub.Unsubscribe()
	if err := c.nc.PublishRequest(subject, inbox, body); err != nil {
		return nil, fmt.Errorf("client: %s: %w", subject, err)
	}
	wctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	out := []T{}
	seen := map[string]bool{}
	var bad []error
	for {
		msg, err := sub.NextMsgWithContext(wctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return out, errors.Join(append(bad, fmt.Errorf("client: %s: %w", subject, ctx.Err()))...)
		case wctx.Err() != nil, errors.Is(err, nats.ErrNoResponders):
			// The window is over, or the server said at once that nobody subscribes to subject.
			return out, errors.Join(bad...)
		default:
			return out, errors.Join(append(bad, fmt.Errorf("client: %s: %w", subject, err))...)
		}
		var v T
		key := ""
		err = decodeObject(msg.Data, &v)
		if err == nil {
			key, err = check(&v)
		}
		if err != nil {
			bad = append(bad, fmt.Errorf("%w on %s: %w", ErrCtlBadReply, subject, err))
			continue
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
}

// decodeObject decodes one JSON object into v; anything else (null, an array, trailing data) is refused.
func decodeObject(b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return errors.New("empty reply, want a JSON object")
	}
	if t[0] != '{' {
		return fmt.Errorf("want a JSON object, got %q", preview(t))
	}
	if err := json.Unmarshal(t, v); err != nil {
		return err
	}
	return nil
}

// preview returns the start of b for an error message.
func preview(b []byte) string {
	const n = 32
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Revoke revokes key lattice-wide for every token it signed or was issued for before before (zero: for
// good): revocations.put, this host's extension of the control interface. Hosts accept it only signed by a
// control issuer (see SignWith), and refuse such tokens, actors and invocations from then on.
func (c *CtlClient) Revoke(ctx context.Context, key string, before time.Time) error {
	r := control.RevokeRequest{Key: key}
	if !before.IsZero() {
		r.Before = before.UTC().Format(time.RFC3339)
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrCtlInvalid, err)
	}
	return c.command(ctx, c.subj.Revoke(), r)
}
