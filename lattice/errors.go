package lattice

import (
	"errors"
	"net"
	"strconv"
)

// The sentinels ErrConfig, ErrPortInUse and ErrNotReady are causes: they reach callers inside a
// *ConnectError or *EmbeddedError (or an error of Decide), whose message already starts with
// "lattice:", so their own text has no prefix.

// ErrConfig is matched by a ConnConfig, EmbeddedConfig or embedded-NATS mode that cannot work (no
// name, no URL, a JWT without a seed, a non-loopback embedded address), before any I/O.
var ErrConfig = errors.New("invalid configuration")

// ErrPortInUse is matched when the embedded nats-server cannot listen because another process
// holds its address. In "auto" mode StartEmbedded treats it as "another host won the race" and
// returns no server, so the caller connects as a client.
var ErrPortInUse = errors.New("address already in use")

// ErrNotReady is matched when the embedded nats-server did not become ready for connections
// within its start timeout (or before the context ended).
var ErrNotReady = errors.New("not ready for connections")

// ErrShutdown is matched by Start on an Embedded that was already shut down.
var ErrShutdown = errors.New("lattice: embedded nats-server was shut down")

// ConnectError is the failure of the initial connection. Its message names the connection and
// the URL (without any user information), never a credential:
// "lattice: connect ctl to nats://127.0.0.1:4222: nats: authorization violation".
type ConnectError struct {
	// Name is the connection's name, "rpc" or "ctl".
	Name string
	// URL is the server URL (or comma-separated URLs) with user information removed.
	URL string
	// Err is the cause: a nats.go error, a context error or a configuration error.
	Err error
}

// Error implements error.
func (e *ConnectError) Error() string {
	return "lattice: connect " + e.Name + " to " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns the cause, so errors.Is(err, nats.ErrAuthorization) and
// errors.Is(err, context.DeadlineExceeded) work.
func (e *ConnectError) Unwrap() error { return e.Err }

// EmbeddedError is a failure to start the embedded nats-server:
// "lattice: embedded nats-server on 127.0.0.1:4222: address already in use".
type EmbeddedError struct {
	// Host and Port are the address the server was to listen on (Port is -1 for "any").
	Host string
	Port int
	// Err is the cause; errors.Is matches ErrPortInUse and ErrNotReady through it.
	Err error
}

// Error implements error.
func (e *EmbeddedError) Error() string {
	return "lattice: embedded nats-server on " + net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *EmbeddedError) Unwrap() error { return e.Err }

// ErrNoData is returned by Data.PutLink and Data.DelLink when the lattice bucket could not be opened at
// start (the servers offer no JetStream): links then cannot be stored.
var ErrNoData = errors.New("lattice: lattice data store unavailable (no JetStream)")

// ErrNoResponders is matched when an RPC request found nobody subscribed to the actor's subject: no host of
// the lattice serves the actor.
var ErrNoResponders = errors.New("lattice: no host serves the actor")

// ErrAliasTaken is matched by the *AliasTakenError of Data.ClaimAlias: the call alias belongs to another
// account.
var ErrAliasTaken = errors.New("lattice: call alias belongs to another account")

// ErrAlreadyClaimed is returned by Once.Claim for a key some host of the lattice claimed before, while its
// claim lasts.
var ErrAlreadyClaimed = errors.New("lattice: already claimed")

// ErrClaimTooLong is returned by Once.Claim for a claim that would last longer than the record keeps any.
var ErrClaimTooLong = errors.New("lattice: claim lasts too long")

// ErrNoLocalUser is returned by LocalUser when the state directory holds no seed of the embedded server's
// user (no host with this state directory has started an embedded server yet). It also matches
// os.ErrNotExist.
var ErrNoLocalUser = errors.New("lattice: no embedded server user")
