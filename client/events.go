package client

// The lattice's events: the CloudEvents every host publishes on wasmbus.evt.{lattice}, which `ctl watch`
// shows and which the ctl commands wait for to learn what became of a command a host acknowledged.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// MaxEventSize bounds the events DecodeEvent accepts; a larger message is refused without being decoded.
const MaxEventSize = 1 << 20

// Event is one lattice event: its CloudEvent envelope, with the name (the type without
// com.wasmcloud.lattice.) and the data decoded as a JSON object.
type Event struct {
	lattice.CloudEvent
	Name   string
	Fields map[string]any
}

// Str returns the data field key as a string, or "" when it is absent or not a string.
func (e Event) Str(key string) string {
	s, _ := e.Fields[key].(string)
	return s
}

// DecodeEvent decodes one event as hosts publish it. An event whose type is not a lattice event, or whose data
// is not a JSON object, is refused with an error matching ErrBadEvent.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if len(b) > MaxEventSize {
		return e, fmt.Errorf("%w: %d bytes, at most %d", ErrBadEvent, len(b), MaxEventSize)
	}
	if err := decodeObject(b, &e.CloudEvent); err != nil {
		return e, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	name, ok := strings.CutPrefix(e.Type, lattice.EventTypePrefix)
	if !ok || name == "" {
		return e, fmt.Errorf("%w: type %q is not a lattice event", ErrBadEvent, preview([]byte(e.Type)))
	}
	e.Name = name
	e.Fields = map[string]any{}
	if data := bytes.TrimSpace(e.Data); len(data) > 0 && !bytes.Equal(data, []byte("null")) {
		if err := decodeObject(data, &e.Fields); err != nil {
			return e, fmt.Errorf("%w: data of %s: %w", ErrBadEvent, name, err)
		}
	}
	return e, nil
}

// EventStream receives the events of one lattice, from the moment SubscribeEvents returns.
type EventStream struct {
	sub *nats.Subscription
}

// SubscribeEvents subscribes to the events of the lattice latticeName on nc (wasmbus.evt.{lattice}, where
// every host publishes each event once; the per-name subjects repeat them). The subscription is in place on
// the server when it returns, so an event caused by a command sent afterwards is not missed.
func SubscribeEvents(nc *nats.Conn, latticeName string) (*EventStream, error) {
	if err := subject.ValidateToken(latticeName); err != nil {
		return nil, fmt.Errorf("%w: lattice %q is not one NATS subject token", ErrCtlInvalid, latticeName)
	}
	sub, err := nc.SubscribeSync(lattice.EventSubject(latticeName))
	if err != nil {
		return nil, fmt.Errorf("client: subscribe to events: %w", err)
	}
	// Events come in bursts (a heartbeat per host, a health check per actor): a deep buffer.
	if err := sub.SetPendingLimits(65536, 64<<20); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("client: subscribe to events: %w", err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("client: subscribe to events: %w", err)
	}
	return &EventStream{sub: sub}, nil
}

// Next returns the next event. A malformed event is returned as an error matching ErrBadEvent, and the
// stream goes on; the end of ctx or of the subscription ends it.
func (s *EventStream) Next(ctx context.Context) (Event, error) {
	m, err := s.sub.NextMsgWithContext(ctx)
	if err != nil {
		return Event{}, err
	}
	return DecodeEvent(m.Data)
}

// Close ends the subscription.
func (s *EventStream) Close() { _ = s.sub.Unsubscribe() }

// Outcome says what an event means for a command being waited for.
type Outcome int

// The outcomes.
const (
	Unrelated Outcome = iota // the event is about something else
	Succeeded                // the command took effect
	Failed                   // the command failed; the event says why
)

// ErrWaitTimeout is matched when WaitFor saw no event that settles the command before its context ended.
var ErrWaitTimeout = errors.New("client: no event said what became of the command")

// FailedError is the failure an event reported.
type FailedError struct {
	Event  string // the event's name
	Host   string // the host that published it
	Reason string // its error text
}

// Error implements error.
func (e *FailedError) Error() string {
	return fmt.Sprintf("%s on host %s: %s", e.Event, e.Host, e.Reason)
}

// WaitFor reads events until match says one settles the command: it returns nil for Succeeded, a
// *FailedError for Failed, and an error matching ErrWaitTimeout when ctx ends first.
func (s *EventStream) WaitFor(ctx context.Context, match func(Event) Outcome) (Event, error) {
	for {
		e, err := s.Next(ctx)
		switch {
		case err == nil:
		case errors.Is(err, ErrBadEvent):
			continue
		case ctx.Err() != nil:
			return Event{}, fmt.Errorf("%w: %w", ErrWaitTimeout, ctx.Err())
		default:
			return Event{}, err
		}
		switch match(e) {
		case Succeeded:
			return e, nil
		case Failed:
			reason := e.Str("error")
			if reason == "" {
				reason = e.Str("reason")
			}
			return e, &FailedError{Event: e.Name, Host: e.Source, Reason: reason}
		}
	}
}

// StartOutcome matches the events of a start of ref on hostID: actors_started, or actors_start_failed or
// actor_start_failed.
func StartOutcome(hostID, ref string) func(Event) Outcome {
	return func(e Event) Outcome {
		if e.Source != hostID {
			return Unrelated
		}
		switch e.Name {
		case "actors_started":
			if e.Str("image_ref") == ref {
				return Succeeded
			}
		case "actors_start_failed":
			if e.Str("image_ref") == ref {
				return Failed
			}
		case "actor_start_failed":
			if e.Str("actor_ref") == ref {
				return Failed
			}
		}
		return Unrelated
	}
}

// ScaleOutcome matches the events of a scale (or a partial stop) of actorKey on hostID: actor_scaled, or
// actors_stopped when the actor stopped, or actor_scale_failed.
func ScaleOutcome(hostID, actorKey string) func(Event) Outcome {
	return func(e Event) Outcome {
		if e.Source != hostID || e.Str("public_key") != actorKey {
			return Unrelated
		}
		switch e.Name {
		case "actor_scaled", "actors_stopped":
			return Succeeded
		case "actor_scale_failed":
			return Failed
		}
		return Unrelated
	}
}

// LinkOutcome matches the event of a link put: linkdef_set for the actor, contract and link name, published
// by the host that stored it.
func LinkOutcome(actorKey, contract, linkName string) func(Event) Outcome {
	return func(e Event) Outcome {
		if e.Str("actor_id") != actorKey || e.Str("contract_id") != contract || e.Str("link_name") != linkName {
			return Unrelated
		}
		switch e.Name {
		case "linkdef_set":
			return Succeeded
		case "linkdef_apply_failed":
			return Failed
		}
		return Unrelated
	}
}
