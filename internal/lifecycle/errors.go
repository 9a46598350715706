package lifecycle

import "errors"

// ErrStillRunning is matched by Wait's error when its context ended before the goroutines did.
var ErrStillRunning = errors.New("lifecycle: goroutines still running")
