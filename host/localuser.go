package host

import (
	"context"

	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// connect opens the RPC and control connections. To the embedded server this host started they authenticate
// as its one user; otherwise they use the configured credentials, or, when none are configured and the server
// is on loopback, the embedded server user that another host of this state directory generated.
func (h *Host) connect(ctx context.Context, rpcCfg, ctlCfg lattice.ConnConfig) error {
	if h.embedded != nil {
		user := h.embedded.User()
		for _, c := range []*lattice.ConnConfig{&rpcCfg, &ctlCfg} {
			c.CredsFile, c.JWT, c.Seed = "", config.Secret{}, user
		}
		h.rpcAuth = rpcCfg
		var err error
		if h.rpcConn, err = lattice.Connect(ctx, rpcCfg, h.log); err != nil {
			return err
		}
		h.ctlConn, err = lattice.Connect(ctx, ctlCfg, h.log)
		return err
	}
	var (
		seed config.Secret
		err  error
	)
	h.rpcConn, seed, err = lattice.ConnectLocal(ctx, rpcCfg, h.cfg.StateDir, h.log)
	h.localUser = append(h.localUser, seed)
	h.rpcAuth = rpcCfg
	if seed.IsSet() {
		h.rpcAuth.CredsFile, h.rpcAuth.JWT, h.rpcAuth.Seed = "", config.Secret{}, seed
	}
	if err != nil {
		return err
	}
	h.ctlConn, seed, err = lattice.ConnectLocal(ctx, ctlCfg, h.cfg.StateDir, h.log)
	h.localUser = append(h.localUser, seed)
	return err
}
