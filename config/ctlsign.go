package config

import (
	"bytes"
	"os"

	"github.com/nats-io/nkeys"
)

// The variables of signed control requests and trusted actor issuers.
const (
	envCtlIssuers        = "WASMCLOUD_CTL_ISSUERS"
	envCtlIssuerSeed     = "WASMCLOUD_CTL_ISSUER_SEED"
	envCtlIssuerSeedFile = "WASMCLOUD_CTL_ISSUER_SEED_FILE"
	envCtlTokenValidity  = "WASMCLOUD_CTL_TOKEN_VALIDITY"
	envActorIssuers      = "WASMCLOUD_ACTOR_ISSUERS"
	envProviderIssuers   = "WASMCLOUD_PROVIDER_ISSUERS"
)

// validateSignedControl checks the control issuers, the control issuer seed, the token validity and the
// actor issuers. A value that looks like a seed is never echoed.
func (c Config) validateSignedControl() []error {
	var p []error
	for _, k := range c.CtlIssuers {
		if !nkeys.IsValidPublicOperatorKey(k) && !nkeys.IsValidPublicAccountKey(k) {
			p = append(p, invalidKey(envCtlIssuers, k, "not an operator or account public key (want O… or A…)"))
		}
	}
	for _, k := range c.ActorIssuers {
		if !nkeys.IsValidPublicAccountKey(k) {
			p = append(p, invalidKey(envActorIssuers, k, "not an account public key (want A…)"))
		}
	}
	for _, k := range c.ProviderIssuers {
		if !nkeys.IsValidPublicAccountKey(k) {
			p = append(p, invalidKey(envProviderIssuers, k, "not an account public key (want A…)"))
		}
	}
	if c.CtlIssuerSeed.IsSet() {
		prefix, raw, err := nkeys.DecodeSeed(c.CtlIssuerSeed.Reveal())
		clear(raw)
		if err != nil || (prefix != nkeys.PrefixByteOperator && prefix != nkeys.PrefixByteAccount) {
			if c.CtlIssuerSeedFile != "" {
				p = append(p, invalid(envCtlIssuerSeedFile, c.CtlIssuerSeedFile, "content is not an operator or account seed (want SO… or SA…)"))
			} else {
				p = append(p, invalidSecret(envCtlIssuerSeed, "not an operator or account seed (want SO… or SA…)"))
			}
		}
	}
	if c.CtlTokenValidity <= 0 {
		p = append(p, invalid(envCtlTokenValidity, c.CtlTokenValidity.String(), "must be positive"))
	}
	return p
}

// invalidKey reports a bad public key, without its value when the value is a seed put there by mistake.
func invalidKey(name, value, reason string) *VarError {
	if len(value) > 0 && value[0] == 'S' {
		return invalidSecret(name, reason+" (the value looks like a seed and is not shown)")
	}
	return invalid(name, value, reason)
}

// readCtlIssuerSeedFile reads the control issuer seed from c.CtlIssuerSeedFile into c.CtlIssuerSeed. Like the
// cluster seed file, it must not be readable by group or others: whoever reads it commands the lattice.
func readCtlIssuerSeedFile(c *Config) error {
	if p := checkPrivateFile(envCtlIssuerSeedFile, c.CtlIssuerSeedFile); p != nil {
		return p
	}
	b, err := os.ReadFile(c.CtlIssuerSeedFile)
	if err != nil {
		return &VarError{Var: envCtlIssuerSeedFile, Value: c.CtlIssuerSeedFile, Reason: "cannot read", Kind: ErrInvalid, Err: pathless(err)}
	}
	defer clear(b)
	seed := bytes.TrimSpace(b)
	if len(seed) == 0 {
		return invalid(envCtlIssuerSeedFile, c.CtlIssuerSeedFile, "file is empty")
	}
	c.CtlIssuerSeed = NewSecret(seed)
	return nil
}
