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
// Which subjects an actor may reach (the lattice's own namespaces, a link's publish list) is a policy
// that the callers decide with Matches; this package only says what a well-formed subject is.
package subject
