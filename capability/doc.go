// Package capability is where an actor's capability calls are enforced and served. Gate is the one
// enforcement point: every __host_call to a contract passes Gate.Call, which checks, in this order, that
// the actor's signed claims list the contract, that an operator linked the actor to a provider for it
// (except the host-local built-ins, logging and numbergen), and that the policy hook allows the call;
// only then is the call dispatched to the provider that serves (provider key, contract). Refusals are
// logged, counted by reason and returned to the guest.
//
// The built-in providers live in one package each (httpserver, keyvalue, messaging, logging, numbergen) and
// know nothing of the gate or the daemon. The gate knows the daemon only through Host, the small interface
// the host implements: deliver an invocation to a local actor, look up a link, say whether an actor runs
// here, publish an event. Links are applied with Gate.Apply, which sets up what a link needs on the hosts
// that run its actor (HTTP listeners, messaging subscriptions) and parses each provider's link values once.
package capability
