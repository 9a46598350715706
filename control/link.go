package control

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Bounds of a link definition's values. A link put is bounded by MaxCtlMessage as a whole; these bound what
// one link can make every host of the lattice keep and hand to a provider.
const (
	// MaxLinkValues is the most values one link may carry.
	MaxLinkValues = 64
	// MaxLinkValueKey is the longest value name, in bytes.
	MaxLinkValueKey = 256
	// MaxLinkValue is the longest value, in bytes.
	MaxLinkValue = 16 << 10
)

// Validate is the one validator of a link definition, run where a link enters the system: the control
// server decoding linkdefs.put (DecodeCtl), a host reading an entry of the lattice bucket, and the client
// before it sends one. It checks the required fields, that actor_id is a module key and provider_id a
// service key, that contract_id has the form namespace:name, that link_name is one NATS subject token (0.x
// providers are served on wasmbus.rpc.{lattice}.{provider}.{link_name}), and the bounds of the values.
// Code that receives a link from one of these places trusts it; the values are parsed by the provider that
// serves the link, when the link is applied.
func (l *LinkDefinition) Validate() error {
	switch {
	case l.ActorID == "":
		return errors.New("actor_id is required")
	case l.ProviderID == "":
		return errors.New("provider_id is required")
	case l.ContractID == "":
		return errors.New("contract_id is required")
	case l.LinkName == "":
		return errors.New("link_name is required")
	}
	if err := nkey.CheckID(l.ActorID, nkey.Module); err != nil {
		return fmt.Errorf("actor_id: %w", err)
	}
	if err := nkey.CheckID(l.ProviderID, nkey.Service); err != nil {
		return fmt.Errorf("provider_id: %w", err)
	}
	if ns, name, ok := strings.Cut(l.ContractID, ":"); !ok || ns == "" || name == "" {
		return fmt.Errorf("contract_id %q is not a contract (namespace:name)", l.ContractID)
	}
	if err := subject.ValidateToken(l.LinkName); err != nil {
		return fmt.Errorf("link_name %q: %s", l.LinkName, subject.Reason(err))
	}
	if len(l.Values) > MaxLinkValues {
		return fmt.Errorf("%d values, at most %d allowed", len(l.Values), MaxLinkValues)
	}
	for k, v := range l.Values {
		switch {
		case len(k) > MaxLinkValueKey:
			return fmt.Errorf("value name of %d bytes, at most %d allowed", len(k), MaxLinkValueKey)
		case len(v) > MaxLinkValue:
			return fmt.Errorf("value %q of %d bytes, at most %d allowed", k, len(v), MaxLinkValue)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("value %q is not valid UTF-8", k)
		}
	}
	return nil
}

// validLinkName checks a provider's link name: one NATS subject token, as in a link definition.
func validLinkName(name string) error {
	if err := subject.ValidateToken(name); err != nil {
		return fmt.Errorf("link_name %q: %s", name, subject.Reason(err))
	}
	return nil
}
