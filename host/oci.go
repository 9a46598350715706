package host

import (
	"context"
	"fmt"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/cosign"
	"github.com/wasmcloud-host/wasmcloud-host/internal/oci"
)

// ociSource pulls actor modules from OCI registries. The module it returns is not trusted: it goes through
// actor.Verify like any other.
type ociSource interface {
	check(ref string) error // syntax and policy, no I/O
	pull(ctx context.Context, ref string) ([]byte, error)
	pullProvider(ctx context.Context, ref string) ([]byte, error)
	setCredentials(registry string, c control.RegistryCredential)
	setVerifier(v *cosign.Verifier) // nil: no signature required
}

// registry adapts internal/oci to the host.
type registry struct {
	c           *oci.Client
	allowLatest bool
}

func newRegistry(cfg config.OCIConfig, v *cosign.Verifier) registry {
	creds := map[string]oci.Credentials{}
	if cfg.Registry != "" {
		creds[cfg.Registry] = oci.Credentials{Username: cfg.User, Password: string(cfg.Password.Reveal())}
	}
	return registry{c: oci.New(oci.Config{AllowLatest: cfg.AllowLatest, Insecure: cfg.AllowedInsecure, Credentials: creds,
		Verifier: v}), allowLatest: cfg.AllowLatest}
}

func (r registry) setVerifier(v *cosign.Verifier) { r.c.SetVerifier(v) }

// check refuses, before any network traffic, a malformed reference or one the latest-tag policy forbids.
func (r registry) check(ref string) error {
	p, err := oci.ParseReference(ref)
	if err != nil {
		return err
	}
	if !r.allowLatest && !p.Pinned() {
		return fmt.Errorf("%w: %s (set WASMCLOUD_OCI_ALLOW_LATEST=true to allow it)", oci.ErrLatest, ref)
	}
	return nil
}

func (r registry) pull(ctx context.Context, ref string) ([]byte, error) {
	a, err := r.c.Pull(ctx, ref)
	if err != nil {
		return nil, err
	}
	return a.Module, nil
}

func (r registry) pullProvider(ctx context.Context, ref string) ([]byte, error) {
	a, err := r.c.PullProvider(ctx, ref)
	if err != nil {
		return nil, err
	}
	return a.Module, nil
}

func (r registry) setCredentials(name string, c control.RegistryCredential) {
	r.c.SetCredentials(name, oci.Credentials{Username: c.Username, Password: c.Password, Token: c.Token})
}
