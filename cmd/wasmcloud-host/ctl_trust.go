package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
)

// The synopses of the trust commands: revocation and the re-signing step of a control key rotation.
const (
	synRevoke = "ctl revoke <key> [--before TIME]"
	synResign = "ctl resign [--json] [--timeout D]"
)

// errNeedsSigner is the error of a command that only signed control requests can carry out.
var errNeedsSigner = errors.New("this command is a signed control request: set WASMCLOUD_CTL_ISSUER_SEED_FILE " +
	"(or WASMCLOUD_CTL_ISSUER_SEED) to the seed of a control issuer the hosts trust (WASMCLOUD_CTL_ISSUERS)")

// revokeResult is the --json output of ctl revoke.
type revokeResult struct {
	Key    string `json:"key"`
	Before string `json:"before,omitempty"`
}

func ctlRevoke(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl revoke", synRevoke,
		"Revoke a key lattice-wide: an account or module key (actors), a cluster key (invocations, responses,\n"+
			"alias records) or a control issuer key (control requests, links). Hosts refuse what the key signed or\n"+
			"was issued before --before (RFC 3339; default: everything, for good) and stop the actors it covers.\n"+
			"A revocation cannot be taken back through the lattice; hosts with WASMCLOUD_REVOCATIONS_FILE apply that\n"+
			"file's revocations too.")
	before := c.String("before", "", "revoke only what was signed or issued before this RFC 3339 time")
	var at time.Time
	sess, pos, err := c.open(ctx, args, s, func(pos []string) error {
		if len(pos) != 1 {
			return c.usage("want one key, got %d arguments", len(pos))
		}
		if err := revoke.CheckKey(pos[0]); err != nil {
			return c.usage("%v", err)
		}
		if *before != "" {
			t, err := time.Parse(time.RFC3339, *before)
			if err != nil {
				return c.usage("--before %q is not an RFC 3339 time (2006-01-02T15:04:05Z)", *before)
			}
			at = t
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	if sess.signer == nil {
		return errNeedsSigner
	}
	if err := sess.client.Revoke(ctx, pos[0], at); err != nil {
		return err
	}
	res := revokeResult{Key: pos[0]}
	line := "Revoked " + pos[0] + " for good"
	if !at.IsZero() {
		res.Before = at.UTC().Format(time.RFC3339)
		line = "Revoked " + pos[0] + " for what it signed or was issued before " + res.Before
	}
	return writeResult(s.stdout, *c.asJSON, res, line)
}

// resignResult is the --json output of ctl resign.
type resignResult struct {
	Links        int `json:"links"`
	SkippedLinks int `json:"skipped_links"`
	Revocations  int `json:"revocations"`
	Skipped      int `json:"skipped_revocations"`
}

func ctlResign(ctx context.Context, args []string, s streams) error {
	c := newCtlCmd("ctl resign", synResign,
		"Sign again, with the control issuer seed configured now, every link definition the hosts hold and every\n"+
			"lattice-wide revocation: the step of a control key rotation between trusting the new key everywhere and\n"+
			"dropping the old one (README: Rotating keys). Links and revocations are signed again only when their\n"+
			"entry in the lattice bucket carries a request a key of WASMCLOUD_CTL_ISSUERS signed (a link also as the\n"+
			"hosts report it); the others are counted as skipped.")
	sess, _, err := c.open(ctx, args, s, c.noArgs)
	if err != nil {
		return err
	}
	defer sess.Close()
	if sess.signer == nil {
		return errNeedsSigner
	}
	if len(sess.cfg.CtlIssuers) == 0 {
		return errors.New("set WASMCLOUD_CTL_ISSUERS (or _FILE) to the control keys whose revocations may be signed again")
	}
	links, err := sess.client.Links(ctx)
	if err != nil {
		return fmt.Errorf("list the links: %w", err)
	}
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: sess.cfg.CtlIssuers, Validity: sess.cfg.CtlTokenValidity})
	if err != nil {
		return err
	}
	subjects := lattice.NewCtlSubjects(sess.cfg.CtlTopicPrefix, sess.cfg.LatticePrefix)
	revs, skipped, err := lattice.StoredRevocations(ctx, sess.nc, sess.cfg.LatticePrefix, sess.cfg.JSDomain, v, subjects.Revoke())
	if err != nil {
		return fmt.Errorf("read the revocations: %w", err)
	}
	// What answers get.links is not authenticated (any subscriber of the subject, or an 0.x host reporting an
	// entry written straight into the bucket, may answer first): only a link whose entry carries a request a
	// trusted key signed, saying the same, is signed again, so that resign launders nothing.
	stored, _, err := lattice.StoredLinks(ctx, sess.nc, sess.cfg.LatticePrefix, sess.cfg.JSDomain, v, subjects.LinkPut())
	if err != nil {
		return fmt.Errorf("read the links: %w", err)
	}
	var res resignResult
	for _, reported := range links {
		l, ok := stored[lattice.LinkKey(reported.ActorID, reported.ContractID, reported.LinkName)]
		if !ok || l.ProviderID != reported.ProviderID || !maps.Equal(l.Values, reported.Values) {
			res.SkippedLinks++
			continue
		}
		if err := sess.client.PutLink(ctx, l); err != nil {
			return fmt.Errorf("link %s to %s (%s): %w; %d links signed again so far", l.ActorID, printable(l.ContractID), printable(l.LinkName), err, res.Links)
		}
		res.Links++
	}
	for _, r := range revs {
		at, err := r.Time()
		if err != nil {
			return err
		}
		if at.Equal(revoke.Forever) {
			at = time.Time{}
		}
		if err := sess.client.Revoke(ctx, r.Key, at); err != nil {
			return fmt.Errorf("revocation of %s: %w; %d revocations signed again so far", r.Key, err, res.Revocations)
		}
		res.Revocations++
	}
	res.Skipped = skipped
	return writeResult(s.stdout, *c.asJSON, res, fmt.Sprintf("Signed again: %d links, %d revocations (skipped, no trusted signature: %d links, %d revocations)",
		res.Links, res.Revocations, res.SkippedLinks, res.Skipped))
}
