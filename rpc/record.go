package rpc

import (
	"fmt"
	"time"

	"github.com/nats-io/nuid"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
)

// SignRecord signs a record a host writes to the lattice (a call alias's owner, say) with the cluster key: a
// token whose subject is subject and whose metadata is meta. Records do not expire; their meaning is in
// their metadata.
func (c *Cluster) SignRecord(subject string, meta any) (string, error) {
	return c.sign(wascap.Claims{ID: nuid.Next(), Subject: subject, IssuedAt: c.now().Unix(), Revision: wascap.Revision}, meta)
}

// VerifyRecord checks a record token: well formed and signed by a trusted cluster key. It decodes the
// metadata into meta and returns the subject.
func (c *Cluster) VerifyRecord(token string, meta any) (string, error) {
	tok, err := wascap.Parse(token)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	trusted, ok := c.issuer(tok.Claims.Issuer)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUntrustedIssuer, printable(tok.Claims.Issuer))
	}
	if err := tok.Verify(trusted.key); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSignature, err)
	}
	if err := c.revoked.Load().Check("cluster key", tok.Claims.Issuer, time.Unix(tok.Claims.IssuedAt, 0)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRevoked, err)
	}
	if err := tok.DecodeMetadata(meta); err != nil {
		return "", fmt.Errorf("%w: %w", ErrToken, err)
	}
	return tok.Claims.Subject, nil
}
