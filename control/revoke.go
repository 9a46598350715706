package control

import (
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
)

// RevokeRequest is the body of revocations.put, this host's extension of the control interface: revoke key
// for every token it signed or was issued for before Before (an RFC 3339 time; empty: for good).
type RevokeRequest struct {
	Key    string `json:"key"`
	Before string `json:"before,omitempty"`
}

// Validate checks the key and the time.
func (r *RevokeRequest) Validate() error {
	if err := revoke.CheckKey(r.Key); err != nil {
		return fmt.Errorf("control: revoke: %w", err)
	}
	if _, err := r.Time(); err != nil {
		return err
	}
	return nil
}

// Time returns the time of the revocation: Before, or revoke.Forever when it is empty.
func (r *RevokeRequest) Time() (time.Time, error) {
	if r.Before == "" {
		return revoke.Forever, nil
	}
	t, err := time.Parse(time.RFC3339, r.Before)
	if err != nil {
		return time.Time{}, fmt.Errorf("control: revoke: before %q is not an RFC 3339 time", r.Before)
	}
	return t, nil
}
