package lattice

import (
	"encoding/json"
	"time"
)

// EventTypePrefix is the prefix of every lattice event type.
const EventTypePrefix = "com.wasmcloud.lattice."

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
