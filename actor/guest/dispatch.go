package guest

import (
	"errors"
	"fmt"
)

// HealthOperation is the health check every wasmCloud actor answers. Unless an actor registers its own handler,
// the package answers it with {"healthy": true}, as the Rust SDK does.
const HealthOperation = "Actor.HealthRequest"

// healthy is the MessagePack map {"healthy": true}.
var healthy = []byte{0x81, 0xa7, 'h', 'e', 'a', 'l', 't', 'h', 'y', 0xc3}

// dispatcher maps operations to handlers and runs one for each invocation. It holds no ABI code, so
// it is compiled and tested on every platform; a wasm instance has one, used by one thread.
type dispatcher struct {
	handlers map[string]func(payload []byte) ([]byte, error)
	// setupErr collects registration mistakes; while it is set every invocation fails with it.
	setupErr error
}

// register adds h for operation, or records why it cannot.
func (d *dispatcher) register(operation string, h func(payload []byte) ([]byte, error)) {
	var err error
	switch {
	case operation == "":
		err = fmt.Errorf("%w: empty operation name", ErrInvalidHandler)
	case h == nil:
		err = fmt.Errorf("%w: nil handler for %s", ErrInvalidHandler, operation)
	case d.handlers[operation] != nil:
		err = fmt.Errorf("%w: %s registered twice", ErrInvalidHandler, operation)
	}
	if err != nil {
		d.setupErr = errors.Join(d.setupErr, err)
		return
	}
	if d.handlers == nil {
		d.handlers = make(map[string]func([]byte) ([]byte, error))
	}
	d.handlers[operation] = h
}

// dispatch runs the handler for operation. A missing handler, a registration mistake and a panic
// become errors; a response that comes with an error is dropped.
func (d *dispatcher) dispatch(operation string, payload []byte) (resp []byte, err error) {
	if d.setupErr != nil {
		return nil, d.setupErr
	}
	h, ok := d.handlers[operation]
	if !ok && operation == HealthOperation {
		return healthy, nil
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotHandled, operation)
	}
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("%w (operation %q): %v", ErrPanic, operation, v)
		}
	}()
	resp, err = h(payload)
	if err != nil {
		return nil, err
	}
	return resp, nil
}
