package lattice

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// CloudEvent is the CloudEvents 1.0 structured-mode envelope of lattice events on wasmbus.evt.{lattice}.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Type            string          `json:"type"` // com.wasmcloud.lattice.<name>
	Source          string          `json:"source"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// EncodeEvent returns the JSON of a CloudEvent of type com.wasmcloud.lattice.{name} from source (a host
// id), with a fresh id, the current time and data encoded as JSON.
func EncodeEvent(name, source string, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("lattice: encode event %s: %w", name, err)
	}
	b, err := json.Marshal(CloudEvent{
		SpecVersion: "1.0", ID: wire.NewID(), Type: EventTypePrefix + name, Source: source,
		Time: time.Now().UTC(), DataContentType: "application/json", Data: raw,
	})
	if err != nil {
		return nil, fmt.Errorf("lattice: encode event %s: %w", name, err)
	}
	return b, nil
}

// EventPublisher publishes the lattice events of one source, as 0.x hosts do: each on wasmbus.evt.{lattice}
// and on wasmbus.evt.{lattice}.{name}. It holds no state besides its configuration.
type EventPublisher struct {
	nc      *nats.Conn
	lattice string
	source  string
}

// NewEventPublisher returns a publisher of the events of source (a host id) on the lattice lattice,
// through nc (the control connection: a control user may publish events, an RPC user may not).
func NewEventPublisher(nc *nats.Conn, lattice, source string) EventPublisher {
	return EventPublisher{nc: nc, lattice: lattice, source: source}
}

// Publish encodes one event and publishes it on both event subjects. Events never carry a seed: callers
// build their data from public claims and ids.
func (p EventPublisher) Publish(name string, data any) error {
	b, err := EncodeEvent(name, p.source, data)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range []string{EventSubject(p.lattice), NamedEventSubject(p.lattice, name)} {
		if err := p.nc.Publish(s, b); err != nil {
			errs = append(errs, fmt.Errorf("lattice: publish event %s on %s: %w", name, s, err))
		}
	}
	return errors.Join(errs...)
}
