// Package subject is the one place NATS subjects and subject tokens are checked and matched: the
// lattice prefix and JetStream domain of the configuration (single tokens), the control-interface
// prefix (a literal subject), the subjects an actor publishes to and the ones a messaging link
// subscribes to (literal subjects and patterns).
//
// A literal subject is one or more tokens separated by single dots; a token is not empty and holds no
// dot, no wildcard, no white space and no control character. A pattern may also use the NATS
// wildcards, each as a whole token: '*' for exactly one token anywhere, '>' for one or more tokens as
// the last token. Anything else is refused with an error that says what was wrong (an *InvalidError,
// which matches ErrInvalid), so that one spelling rule holds wherever a subject enters the host.
//
// Policy is the one subject policy of the host: which namespaces belong to the lattice and are never
// reachable by an actor (the host derives them from its configuration), checked for literal subjects with
// Matches and for subscription patterns with Overlap, a real test of whether two patterns can match a
// common subject (so that "*.>" or ">" cannot sneak past a check that looks at literal tokens only). What
// a particular link allows on top of that (its publish list) is for the provider to decide with Matches.
package subject
