package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// The control interface's JSON messages, as wasmCloud 0.x hosts and clients send them on
// {prefix}.{lattice}.* (protocol notes §6.2–§6.5). Field names are 0.x's; fields that only one of the OTP and
// Rust hosts sends are accepted and, where we answer, written so that both kinds of client can read them.

// DefaultLinkName is the link name of 0.x, used when a link definition or a capability call names none.
const DefaultLinkName = "default"

// MaxCtlMessage bounds a control request: nothing a client legitimately sends comes close.
const MaxCtlMessage = 64 << 10

// DecodeCtl decodes one control request into v (a pointer to one of the command types below) and, if v has a
// Validate method, validates it. Unknown fields are ignored (clients of several versions add some); trailing
// data, a non-object and oversize input are refused.
func DecodeCtl(b []byte, v interface{ Validate() error }) error {
	if len(b) > MaxCtlMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrCtlTooLarge, len(b), MaxCtlMessage)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: want a JSON object", ErrCtlMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrCtlMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON object", ErrCtlMalformed)
	}
	if err := v.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrCtlInvalid, err)
	}
	return nil
}

// CtlAck is the reply to every command: {"accepted":true,"error":""} or {"accepted":false,"error":"…"}.
type CtlAck struct {
	Accepted bool   `json:"accepted"`
	Error    string `json:"error"`
}

// HostInfo is a host's answer to ping.hosts.
type HostInfo struct {
	ID             string            `json:"id"`
	Issuer         string            `json:"issuer"` // the host's cluster public key
	Labels         map[string]string `json:"labels"`
	FriendlyName   string            `json:"friendly_name"`
	UptimeSeconds  uint64            `json:"uptime_seconds"`
	UptimeHuman    string            `json:"uptime_human"`
	Version        string            `json:"version"`
	ClusterIssuers string            `json:"cluster_issuers"` // comma-joined, as 0.x sends it
	JSDomain       *string           `json:"js_domain"`
	CtlHost        string            `json:"ctl_host"`
	RPCHost        string            `json:"rpc_host"`
	LatticePrefix  string            `json:"lattice_prefix"`
	Lattice        string            `json:"lattice"`
}

// HostInventory is the answer to get.{host}.inv.
type HostInventory struct {
	HostID        string                `json:"host_id"`
	Issuer        string                `json:"issuer"`
	Labels        map[string]string     `json:"labels"`
	FriendlyName  string                `json:"friendly_name"`
	Version       string                `json:"version"`
	UptimeSeconds uint64                `json:"uptime_seconds"`
	UptimeHuman   string                `json:"uptime_human"`
	Actors        []ActorDescription    `json:"actors"`
	Providers     []ProviderDescription `json:"providers"`
}

// ActorDescription is one actor in an inventory.
type ActorDescription struct {
	ID           string          `json:"id"`
	ImageRef     string          `json:"image_ref"`
	Name         string          `json:"name"`
	MaxInstances int             `json:"max_instances"`
	Instances    []ActorInstance `json:"instances"`
}

// ActorInstance is one running instance (0.x lists them; this host reports one per pool slot).
type ActorInstance struct {
	InstanceID   string            `json:"instance_id"`
	Annotations  map[string]string `json:"annotations"`
	Revision     int32             `json:"revision"`
	ImageRef     string            `json:"image_ref"`
	MaxInstances int               `json:"max_instances"`
}

// ProviderDescription is one capability provider in an inventory; the built-in providers are listed here.
type ProviderDescription struct {
	ID          string            `json:"id"`
	ImageRef    string            `json:"image_ref"`
	ContractID  string            `json:"contract_id"`
	LinkName    string            `json:"link_name"`
	Name        string            `json:"name"`
	InstanceID  string            `json:"instance_id"`
	Annotations map[string]string `json:"annotations"`
	Revision    int32             `json:"revision"`
}

// LinkDefinition links an actor to a provider for a contract under a link name, with configuration values.
type LinkDefinition struct {
	ID         string            `json:"id"`
	ActorID    string            `json:"actor_id"`
	ProviderID string            `json:"provider_id"`
	LinkName   string            `json:"link_name"`
	ContractID string            `json:"contract_id"`
	Values     map[string]string `json:"values"`
}

// LinkDefinitionList is the answer to get.links.
type LinkDefinitionList struct {
	Links []LinkDefinition `json:"links"`
}

// RemoveLinkDefinition is the request of linkdefs.del.
type RemoveLinkDefinition struct {
	ActorID    string `json:"actor_id"`
	ContractID string `json:"contract_id"`
	LinkName   string `json:"link_name"`
}

// Validate checks the fields linkdefs.del requires.
func (r *RemoveLinkDefinition) Validate() error {
	if r.ActorID == "" || r.ContractID == "" || r.LinkName == "" {
		return errors.New("actor_id, contract_id and link_name are required")
	}
	return nil
}

// ClaimsList is the answer to get.claims: one map of strings per actor or provider, in the OTP layout
// (caps and tags comma-joined).
type ClaimsList struct {
	Claims []map[string]string `json:"claims"`
}

// StartActorCommand is the request of cmd.{host}.la.
type StartActorCommand struct {
	ActorRef    string            `json:"actor_ref"`
	Count       uint16            `json:"count"`
	Annotations map[string]string `json:"annotations,omitempty"`
	HostID      string            `json:"host_id,omitempty"`
}

// Validate checks the command; a zero count means one.
func (c *StartActorCommand) Validate() error {
	if c.ActorRef == "" {
		return errors.New("actor_ref is required")
	}
	return nil
}

// StopActorCommand is the request of cmd.{host}.sa.
type StopActorCommand struct {
	ActorRef    string            `json:"actor_ref"` // the actor's public key
	Count       uint16            `json:"count"`
	Annotations map[string]string `json:"annotations,omitempty"`
	HostID      string            `json:"host_id,omitempty"`
}

// Validate checks the command.
func (c *StopActorCommand) Validate() error {
	if c.ActorRef == "" {
		return errors.New("actor_ref is required")
	}
	return nil
}

// ScaleActorCommand is the request of cmd.{host}.scale. Rust clients send max_instances for count.
type ScaleActorCommand struct {
	ActorID      string            `json:"actor_id"`
	ActorRef     string            `json:"actor_ref"`
	Count        *uint16           `json:"count,omitempty"`
	MaxInstances *uint16           `json:"max_instances,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	HostID       string            `json:"host_id,omitempty"`
}

// Validate checks the command.
func (c *ScaleActorCommand) Validate() error {
	if c.ActorID == "" && c.ActorRef == "" {
		return errors.New("actor_id or actor_ref is required")
	}
	if c.Count == nil && c.MaxInstances == nil {
		return errors.New("count is required")
	}
	return nil
}

// Instances returns the requested instance count.
func (c *ScaleActorCommand) Instances() uint16 {
	if c.Count != nil {
		return *c.Count
	}
	return *c.MaxInstances
}

// UpdateActorCommand is the request of cmd.{host}.upd.
type UpdateActorCommand struct {
	ActorID     string            `json:"actor_id"`
	NewActorRef string            `json:"new_actor_ref"`
	Annotations map[string]string `json:"annotations,omitempty"`
	HostID      string            `json:"host_id,omitempty"`
}

// Validate checks the command.
func (c *UpdateActorCommand) Validate() error {
	if c.NewActorRef == "" {
		return errors.New("new_actor_ref is required")
	}
	return nil
}

// StopHostCommand is the request of cmd.{host}.stop.
type StopHostCommand struct {
	Timeout *uint64 `json:"timeout,omitempty"` // milliseconds
	HostID  string  `json:"host_id,omitempty"`
}

// Validate accepts any stop request.
func (c *StopHostCommand) Validate() error { return nil }

// ActorAuctionRequest is the request of auction.actor.
type ActorAuctionRequest struct {
	ActorRef    string            `json:"actor_ref"`
	Constraints map[string]string `json:"constraints"`
}

// Validate checks the request.
func (r *ActorAuctionRequest) Validate() error {
	if r.ActorRef == "" {
		return errors.New("actor_ref is required")
	}
	return nil
}

// ActorAuctionAck is a host's bid in an actor auction.
type ActorAuctionAck struct {
	ActorRef    string            `json:"actor_ref"`
	Constraints map[string]string `json:"constraints"`
	HostID      string            `json:"host_id"`
}

// RegistryCredential is one registry's credentials in registries.put.
type RegistryCredential struct {
	RegistryType string `json:"registryType,omitempty"`
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	Token        string `json:"token,omitempty"`
}

// RegistryCredentialMap is the request of registries.put: registry host → credentials.
type RegistryCredentialMap map[string]RegistryCredential

// Validate checks every entry.
func (m *RegistryCredentialMap) Validate() error {
	for host, c := range *m {
		if host == "" {
			return errors.New("empty registry name")
		}
		if c.RegistryType != "" && c.RegistryType != "oci" {
			return fmt.Errorf("registry %s: unsupported registryType %q", host, c.RegistryType)
		}
	}
	return nil
}

// StartProviderCommand is the request of cmd.{host}.lp: run the provider archive ProviderRef under a link name.
type StartProviderCommand struct {
	ProviderRef   string            `json:"provider_ref"`
	LinkName      string            `json:"link_name"`
	Configuration string            `json:"configuration,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	HostID        string            `json:"host_id,omitempty"`
}

// Validate checks the command; an empty link name means DefaultLinkName.
func (c *StartProviderCommand) Validate() error {
	if c.ProviderRef == "" {
		return errors.New("provider_ref is required")
	}
	if c.LinkName == "" {
		c.LinkName = DefaultLinkName
	}
	return validLinkName(c.LinkName)
}

// StopProviderCommand is the request of cmd.{host}.sp. ProviderRef is the provider's public key (OTP) or the
// reference it was started from.
type StopProviderCommand struct {
	ProviderRef string            `json:"provider_ref"`
	LinkName    string            `json:"link_name"`
	ContractID  string            `json:"contract_id,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	HostID      string            `json:"host_id,omitempty"`
}

// Validate checks the command; an empty link name means DefaultLinkName.
func (c *StopProviderCommand) Validate() error {
	if c.ProviderRef == "" {
		return errors.New("provider_ref is required")
	}
	if c.LinkName == "" {
		c.LinkName = DefaultLinkName
	}
	return validLinkName(c.LinkName)
}

// ProviderAuctionRequest is the request of auction.provider.
type ProviderAuctionRequest struct {
	ProviderRef string            `json:"provider_ref"`
	LinkName    string            `json:"link_name"`
	Constraints map[string]string `json:"constraints"`
}

// Validate checks the request; an empty link name means DefaultLinkName.
func (r *ProviderAuctionRequest) Validate() error {
	if r.ProviderRef == "" {
		return errors.New("provider_ref is required")
	}
	if r.LinkName == "" {
		r.LinkName = DefaultLinkName
	}
	return validLinkName(r.LinkName)
}

// ProviderAuctionAck is a host's bid in a provider auction.
type ProviderAuctionAck struct {
	ProviderRef string            `json:"provider_ref"`
	LinkName    string            `json:"link_name"`
	Constraints map[string]string `json:"constraints"`
	HostID      string            `json:"host_id"`
}
