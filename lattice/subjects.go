package lattice

// The subjects and JetStream names of a lattice, as wasmCloud 0.x spells them (protocol notes §2, §6). Every
// subject the host, the client and the built-in providers use is built here, so that the spelling lives in
// one place; the arguments are not checked again (the lattice prefix and control prefix were checked by
// config, keys by the code that parsed them).

// EventTypePrefix is the prefix of every lattice event type: com.wasmcloud.lattice.{name}.
const EventTypePrefix = "com.wasmcloud.lattice."

// The commands a control client sends to one host: {ctl}.{lattice}.cmd.{host}.{command}.
const (
	CmdStartActor  = "la"
	CmdStopActor   = "sa"
	CmdScaleActor  = "scale"
	CmdUpdateActor = "upd"
	CmdStopHost    = "stop"
	// CmdStartProvider and CmdStopProvider start and stop a capability provider process (0.x lp and sp).
	CmdStartProvider = "lp"
	CmdStopProvider  = "sp"
)

// RPCSubject returns wasmbus.rpc.{lattice}.{key}, where the actor with module key key is served.
func RPCSubject(lattice, key string) string { return "wasmbus.rpc." + lattice + "." + key }

// RPCWildcard returns wasmbus.rpc.{lattice}.>, every RPC subject of the lattice.
func RPCWildcard(lattice string) string { return "wasmbus.rpc." + lattice + ".>" }

// ProviderRPCSubject returns wasmbus.rpc.{lattice}.{provider}.{linkName}, where a 0.x capability provider
// process serves the invocations of one link name.
func ProviderRPCSubject(lattice, providerKey, linkName string) string {
	return "wasmbus.rpc." + lattice + "." + providerKey + "." + linkName
}

// ProviderLinkPutSubject returns wasmbus.rpc.{lattice}.{provider}.{linkName}.linkdefs.put, where a provider
// process learns of a link to it (a MessagePack link definition, published, not requested).
func ProviderLinkPutSubject(lattice, providerKey, linkName string) string {
	return ProviderRPCSubject(lattice, providerKey, linkName) + ".linkdefs.put"
}

// ProviderLinkDelSubject returns wasmbus.rpc.{lattice}.{provider}.{linkName}.linkdefs.del, where a provider
// process learns that a link to it was deleted.
func ProviderLinkDelSubject(lattice, providerKey, linkName string) string {
	return ProviderRPCSubject(lattice, providerKey, linkName) + ".linkdefs.del"
}

// ProviderHealthSubject returns wasmbus.rpc.{lattice}.{provider}.{linkName}.health, which a provider process
// answers with a MessagePack HealthCheckResponse.
func ProviderHealthSubject(lattice, providerKey, linkName string) string {
	return ProviderRPCSubject(lattice, providerKey, linkName) + ".health"
}

// ProviderShutdownSubject returns wasmbus.rpc.{lattice}.{provider}.{linkName}.shutdown, on which a host asks
// a provider process to exit ({"host_id": …}).
func ProviderShutdownSubject(lattice, providerKey, linkName string) string {
	return ProviderRPCSubject(lattice, providerKey, linkName) + ".shutdown"
}

// EventSubject returns wasmbus.evt.{lattice}, where every lattice event is published.
func EventSubject(lattice string) string { return "wasmbus.evt." + lattice }

// NamedEventSubject returns wasmbus.evt.{lattice}.{name}, where events of one type are published as well.
func NamedEventSubject(lattice, name string) string { return EventSubject(lattice) + "." + name }

// DataBucket returns LATTICEDATA_{lattice}, the JetStream key-value bucket of links, claims and reference maps.
func DataBucket(lattice string) string { return "LATTICEDATA_" + lattice }

// internalBucketPrefixes start the names of the JetStream key-value buckets the hosts of a lattice use
// themselves: LATTICEDATA_ and CONFIGDATA_ (0.x's lattice data and configuration) and WASMCLOUD_ (this
// host's own records). No actor may link to one of them.
var internalBucketPrefixes = []string{"LATTICEDATA_", "CONFIGDATA_", "WASMCLOUD_"}

// InternalBucketPrefixes returns the name prefixes of the lattice's own key-value buckets, of every lattice.
func InternalBucketPrefixes() []string { return append([]string(nil), internalBucketPrefixes...) }

// ReservedSubjects returns the subject patterns that belong to the lattice and that no actor may publish,
// request or subscribe to, besides the server's own '$' namespaces ($SYS, $JS, $KV, $O, $NRG, …, which
// package subject always reserves): every wasmbus subject of every lattice (RPC, events, the default
// control prefix), the control prefix in use, the request inboxes and the server's reply mappings, wadm's
// API, and the given extra subjects (the policy service's topics).
func ReservedSubjects(ctlPrefix string, extra ...string) []string {
	// _R_ and _GR_ carry the replies the server maps across account imports and gateways; wadm.> is the
	// deployment manager's API, which commands a lattice as the control interface does.
	out := []string{"wasmbus.>", ctlPrefix + ".>", "_INBOX.>", "_R_.>", "_GR_.>", "wadm.>"}
	for _, e := range extra {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// ObjectStore returns the name of the JetStream object store that holds the chunked payloads of a lattice:
// the lattice prefix itself.
func ObjectStore(lattice string) string { return lattice }

// CtlSubjects builds the control-interface subjects of one lattice, {prefix}.{lattice}.*.
type CtlSubjects struct {
	base string // {prefix}.{lattice}
}

// NewCtlSubjects returns the control subjects under prefix (WASMCLOUD_CTL_TOPIC_PREFIX, wasmbus.ctl by
// default) for the lattice lattice.
func NewCtlSubjects(prefix, lattice string) CtlSubjects {
	return CtlSubjects{base: prefix + "." + lattice}
}

// Base returns {prefix}.{lattice}.
func (c CtlSubjects) Base() string { return c.base }

// PingHosts returns the subject every host answers with its HostInfo.
func (c CtlSubjects) PingHosts() string { return c.base + ".ping.hosts" }

// Auction returns the subject of actor auctions.
func (c CtlSubjects) Auction() string { return c.base + ".auction.actor" }

// ProviderAuction returns the subject of provider auctions.
func (c CtlSubjects) ProviderAuction() string { return c.base + ".auction.provider" }

// Claims returns the subject of the lattice's claims query.
func (c CtlSubjects) Claims() string { return c.base + ".get.claims" }

// Links returns the subject of the lattice's link query.
func (c CtlSubjects) Links() string { return c.base + ".get.links" }

// LinkPut returns the subject that stores a link definition.
func (c CtlSubjects) LinkPut() string { return c.base + ".linkdefs.put" }

// LinkDel returns the subject that deletes a link definition.
func (c CtlSubjects) LinkDel() string { return c.base + ".linkdefs.del" }

// Revoke returns the subject of a lattice-wide revocation (this host's extension, `ctl revoke`).
func (c CtlSubjects) Revoke() string { return c.base + ".revocations.put" }

// Registries returns the subject that gives every host registry credentials.
func (c CtlSubjects) Registries() string { return c.base + ".registries.put" }

// Inventory returns the subject of one host's inventory, get.{host}.inv.
func (c CtlSubjects) Inventory(hostID string) string { return c.base + ".get." + hostID + ".inv" }

// Command returns the subject of a command (CmdStartActor, …) to one host, cmd.{host}.{command}.
func (c CtlSubjects) Command(hostID, command string) string {
	return c.base + ".cmd." + hostID + "." + command
}

// OnceBucketPrefix starts the name of every lattice's once-only record, a JetStream key-value bucket that is
// internal to the hosts: actors must never be linked to it, nor publish on its subjects.
const OnceBucketPrefix = "WASMCLOUD_ONCE_"

// OnceBucket returns WASMCLOUD_ONCE_{lattice}, the bucket of the lattice's once-only record (Once).
func OnceBucket(lattice string) string { return OnceBucketPrefix + lattice }

// OnceSubjects returns $KV.WASMCLOUD_ONCE_{lattice}.>, the subjects of the once-only record's entries.
func OnceSubjects(lattice string) string { return "$KV." + OnceBucket(lattice) + ".>" }
