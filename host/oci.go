package host

import (
	"context"

	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// ociSource pulls actor modules from OCI registries. The module it returns is not trusted: it goes through
// actor.Verify like any other.
type ociSource interface {
	pull(ctx context.Context, ref string) ([]byte, error)
	setCredentials(registry string, c wire.RegistryCredential)
}
