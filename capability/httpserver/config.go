package httpserver

import (
	"errors"
	"fmt"
	"time"
)

// Defaults that New applies to the zero fields of a Config.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 2 * time.Minute
	DefaultHandlerTimeout    = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultMaxBody           = 10 << 20 // 10 MiB
	DefaultMaxHeaderBytes    = 64 << 10 // 64 KiB; larger headers get 431
	DefaultMaxConnections    = 256
	DefaultMaxConcurrent     = 64
	DefaultBodyBudget        = 64 << 20 // 64 MiB of request bodies in flight per address

	// writeTimeoutSlack is what the default WriteTimeout leaves, beyond ReadTimeout and
	// HandlerTimeout, to write the response.
	writeTimeoutSlack = 30 * time.Second
)

// Config holds the limits that every bound address shares. A zero field takes its default; New
// does not fail, so check a Config read from the environment with Validate first.
type Config struct {
	// ReadHeaderTimeout bounds the time to read a request's headers. Default 10 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the time to read a whole request, body included. Default 2 min.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to the end of its
	// response, so it must exceed HandlerTimeout or a timed-out request could not be answered.
	// Default ReadTimeout + HandlerTimeout + 30 s.
	WriteTimeout time.Duration
	// HandlerTimeout bounds the time an actor has to answer; past it the client gets 504.
	// Default 30 s.
	HandlerTimeout time.Duration
	// IdleTimeout bounds the time a keep-alive connection waits for its next request.
	// Default 2 min.
	IdleTimeout time.Duration
	// MaxBody is the largest request body, in bytes, handed to an actor; a larger one gets 413.
	// Default 10 MiB.
	MaxBody int64
	// MaxHeaderBytes bounds the size of a request's headers; larger ones get 431. Default 64 KiB.
	MaxHeaderBytes int
	// MaxConnections is the default number of open connections per address (a link may set its own, see
	// ParseLink). Default 256.
	MaxConnections int
	// MaxConcurrent is the default number of requests per address an actor handles at once. Default 64.
	MaxConcurrent int
	// BodyBudget bounds the bytes of request bodies an address holds at once (being read or handled), charged
	// as the bytes arrive; a request that would exceed it gets 503. Default 64 MiB, and never below MaxBody.
	BodyBudget int64
}

// Limits returns the per-address limits of c (after defaults), those of links that set none.
func (c Config) Limits() Limits {
	d := c.withDefaults()
	return Limits{MaxConnections: d.MaxConnections, MaxConcurrent: d.MaxConcurrent, MaxBody: d.MaxBody}
}

// Validate reports every field that is out of range at once (each error wraps ErrConfig and names
// the field), or nil. Zero fields are valid: they take their defaults.
func (c Config) Validate() error {
	var errs []error
	neg := func(name string, d time.Duration) {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%w: %s is negative (%v)", ErrConfig, name, d))
		}
	}
	neg("ReadHeaderTimeout", c.ReadHeaderTimeout)
	neg("ReadTimeout", c.ReadTimeout)
	neg("WriteTimeout", c.WriteTimeout)
	neg("HandlerTimeout", c.HandlerTimeout)
	neg("IdleTimeout", c.IdleTimeout)
	if c.MaxBody < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxBody is negative (%d)", ErrConfig, c.MaxBody))
	}
	if c.MaxConnections < 0 || c.MaxConnections > MaxConnectionsCeiling {
		errs = append(errs, fmt.Errorf("%w: MaxConnections is out of range (%d)", ErrConfig, c.MaxConnections))
	}
	if c.MaxConcurrent < 0 || c.MaxConcurrent > MaxConcurrentCeiling {
		errs = append(errs, fmt.Errorf("%w: MaxConcurrent is out of range (%d)", ErrConfig, c.MaxConcurrent))
	}
	if c.MaxBody > MaxBodyCeiling {
		errs = append(errs, fmt.Errorf("%w: MaxBody is above %d (%d)", ErrConfig, MaxBodyCeiling, c.MaxBody))
	}
	if c.MaxHeaderBytes < 0 {
		errs = append(errs, fmt.Errorf("%w: MaxHeaderBytes is negative (%d)", ErrConfig, c.MaxHeaderBytes))
	}
	if d := c.withDefaults(); c.WriteTimeout > 0 && d.HandlerTimeout > 0 && c.WriteTimeout <= d.HandlerTimeout {
		errs = append(errs, fmt.Errorf("%w: WriteTimeout (%v) must exceed HandlerTimeout (%v), or a timed-out request cannot be answered",
			ErrConfig, c.WriteTimeout, d.HandlerTimeout))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = DefaultHandlerTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = c.ReadTimeout + c.HandlerTimeout + writeTimeoutSlack
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.BodyBudget == 0 {
		c.BodyBudget = DefaultBodyBudget
	}
	c.BodyBudget = max(c.BodyBudget, c.MaxBody)
	return c
}
