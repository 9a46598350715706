package metrics

import "errors"

// ErrAdminAddress: WASMCLOUD_ADMIN_ADDRESS could not be listened on.
var ErrAdminAddress = errors.New("metrics: admin listener")
