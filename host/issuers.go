package host

import (
	"fmt"
	"slices"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
)

// checkActorIssuer refuses an actor whose signing account WASMCLOUD_ACTOR_ISSUERS does not list (every
// account is allowed when it is unset). It runs on the verified claims, before the module is compiled.
func (h *Host) checkActorIssuer(c *actor.Claims) error {
	issuers := h.current().ActorIssuers
	if len(issuers) == 0 || slices.Contains(issuers, c.Issuer) {
		return nil
	}
	return fmt.Errorf("%w: %s is not in WASMCLOUD_ACTOR_ISSUERS", ErrUntrustedActorIssuer, c.Issuer)
}
