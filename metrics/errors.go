package metrics

import "errors"

// ErrAdminAddress: WASMCLOUD_ADMIN_ADDRESS could not be listened on.
var ErrAdminAddress = errors.New("metrics: admin listener")

// ErrPprofNotLoopback: profiles were asked for (WASMCLOUD_PPROF) on an admin listener that is not on a loopback
// address.
var ErrPprofNotLoopback = errors.New("metrics: profiles are served only on a loopback address")
