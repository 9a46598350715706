package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/actor"
	"github.com/wasmcloud-host/wasmcloud-host/config"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/revoke"
	"github.com/wasmcloud-host/wasmcloud-host/lattice"
	"github.com/wasmcloud-host/wasmcloud-host/policy"
	"github.com/wasmcloud-host/wasmcloud-host/subject"
)

// Reload applies a configuration read again (SIGHUP): the trusted cluster issuers, the cluster seed (a
// rotation), the trusted actor and provider issuers, the control issuers, the cosign settings, the revocations and the
// policy settings take effect without a restart. cfg has passed config's validation; Reload takes ownership
// of its secrets and wipes them. It returns what changed, one line per setting, without any secret, and
// the settings it did not apply because they need a restart. An error leaves the running configuration in
// force.
func (h *Host) Reload(ctx context.Context, cfg config.Config) (changed, needRestart []string, err error) {
	defer cfg.Wipe()
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	cur := h.current()

	// Everything that can fail is prepared first; nothing is applied until all of it succeeded.
	var newKey *nkey.KeyPair
	if cfg.ClusterSeed.IsSet() {
		if newKey, err = nkey.ParseSeedOf(cfg.ClusterSeed.Reveal(), nkey.Cluster); err != nil {
			return nil, nil, fmt.Errorf("host: reload: cluster seed: %w", err)
		}
		defer newKey.Wipe()
	}
	ctlOn, ctlNow := len(cur.CtlIssuers) > 0, len(cfg.CtlIssuers) > 0
	if ctlOn != ctlNow {
		needRestart = append(needRestart, "WASMCLOUD_CTL_ISSUERS (signed control is turned on or off only at start)")
	}
	policyChanged := cur.PolicyTopic != cfg.PolicyTopic || cur.PolicyChangesTopic != cfg.PolicyChangesTopic ||
		cur.PolicyEndpoint != cfg.PolicyEndpoint || cur.PolicyTimeout != cfg.PolicyTimeout
	var svc *policy.Service
	var subjects *subject.Policy
	if policyChanged {
		if svc, err = h.newPolicyService(cfg); err != nil {
			return nil, nil, fmt.Errorf("host: reload: %w", err)
		}
		if subjects, err = newSubjectPolicy(cfg); err != nil {
			return nil, nil, fmt.Errorf("host: reload: %w", err)
		}
		if svc.Enabled() {
			if err := svc.Start(ctx); err != nil {
				return nil, nil, fmt.Errorf("host: reload: policy service: %w", err)
			}
		}
		// A reload that fails from here on keeps the running service: the new one is stopped again.
		defer func() {
			if svc != nil {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = svc.Shutdown(sctx)
				cancel()
			}
		}()
	}
	for _, r := range restartOnly(cur, cfg) {
		needRestart = append(needRestart, r)
	}

	// Apply.
	issuersChanged, keyChanged := false, false
	if !slices.Equal(cur.ClusterIssuers, cfg.ClusterIssuers) {
		if err := h.cluster.SetIssuers(cfg.ClusterIssuers); err != nil {
			return nil, nil, fmt.Errorf("host: reload: %w", err)
		}
		changed = append(changed, "cluster issuers: "+strings.Join(h.cluster.Issuers(), ","))
		issuersChanged = true
	}
	if newKey != nil && newKey.Public().String() != h.cluster.PublicKey() {
		old := h.cluster.PublicKey()
		if err := h.cluster.SetKey(cfg.ClusterSeed.Reveal()); err != nil {
			return changed, needRestart, fmt.Errorf("host: reload: %w", err)
		}
		changed = append(changed, "cluster key: "+old+" -> "+h.cluster.PublicKey())
		keyChanged = true
	}
	actorsChanged := !slices.Equal(cur.ActorIssuers, cfg.ActorIssuers)
	if actorsChanged {
		changed = append(changed, "actor issuers: "+strings.Join(cfg.ActorIssuers, ","))
	}
	providersChanged := actorsChanged || !slices.Equal(cur.ProviderIssuers, cfg.ProviderIssuers)
	if !slices.Equal(cur.ProviderIssuers, cfg.ProviderIssuers) {
		changed = append(changed, "provider issuers: "+strings.Join(cfg.ProviderIssuers, ","))
	}
	if ctlOn && ctlNow && !slices.Equal(cur.CtlIssuers, cfg.CtlIssuers) {
		if err := h.ctlAuth.verifier.SetIssuers(cfg.CtlIssuers); err != nil {
			return changed, needRestart, fmt.Errorf("host: reload: %w", err)
		}
		changed = append(changed, "control issuers: "+strings.Join(cfg.CtlIssuers, ","))
		// Links signed only by a key no longer trusted stop being served here, as on a host that starts now.
		h.background(context.WithoutCancel(ctx), func(ctx context.Context) { h.data.RecheckSignedLinks(ctx) })
	}
	// The verifier is swapped whenever cosign is configured, so key and trusted-root files rewritten in place
	// take effect; a change is reported when the settings or what they trust differ.
	if cur.CosignVerifier != nil || cfg.CosignVerifier != nil {
		h.oci.setVerifier(cfg.CosignVerifier)
	}
	if cosignChanged(cur, cfg) {
		trust := cfg.CosignVerifier.Trust()
		if trust == "" {
			trust = "none (OCI artifacts need no signature)"
		}
		changed = append(changed, "cosign trust: "+trust)
	}
	if cur.RevocationsFile != cfg.RevocationsFile || !sameRevocations(cur.Revocations, cfg.Revocations) {
		file := cfg.Revocations
		if file == nil {
			file = revoke.New(nil)
		}
		h.setRevocations(ctx, file, nil)
		changed = append(changed, fmt.Sprintf("revocations file: %d keys", file.Len()))
	}
	if issuersChanged || keyChanged {
		h.refreshAliases(ctx, keyChanged)
	}
	if policyChanged {
		old := h.policy.swap(svc)
		svc = nil // in force now: not stopped on the way out
		h.caps.SetSubjects(subjects)
		if old != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = old.Shutdown(sctx)
			cancel()
		}
		changed = append(changed, "policy service: topic "+cfg.PolicyTopic+", endpoint set "+fmt.Sprint(cfg.PolicyEndpoint != ""))
	}
	next := cur
	next.ClusterIssuers, next.ActorIssuers, next.ProviderIssuers, next.Cosign, next.CosignVerifier = cfg.ClusterIssuers, cfg.ActorIssuers, cfg.ProviderIssuers, cfg.Cosign, cfg.CosignVerifier
	if ctlOn && ctlNow {
		next.CtlIssuers = cfg.CtlIssuers
	}
	next.RevocationsFile, next.Revocations = cfg.RevocationsFile, cfg.Revocations
	next.PolicyTopic, next.PolicyChangesTopic, next.PolicyEndpoint, next.PolicyTimeout = cfg.PolicyTopic, cfg.PolicyChangesTopic, cfg.PolicyEndpoint, cfg.PolicyTimeout
	next.ClusterSeed, next.HostSeed, next.CtlIssuerSeed = config.Secret{}, config.Secret{}, config.Secret{} // secrets are not kept here
	h.reloaded.Store(&next)
	// What runs under an account no longer trusted stops, as if the account were revoked: trust that was
	// withdrawn is not kept by whatever it let in before. Stopping drains invocations: not on this goroutine.
	if actorsChanged || providersChanged {
		h.tasks.Go(func() { h.stopUntrusted(ctx, actorsChanged, providersChanged) })
	}
	return changed, needRestart, nil
}

// stopUntrusted stops the actors (and providers) whose signing account the trusted issuers in force no
// longer list.
func (h *Host) stopUntrusted(ctx context.Context, actors, providers bool) {
	stopCtx := func(d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), d)
	}
	if actors {
		h.mu.RLock()
		var doomed []*actor.Claims
		for _, a := range h.actors {
			if a == nil {
				continue
			}
			if c, _ := a.snapshot(); h.checkActorIssuer(c) != nil {
				doomed = append(doomed, c)
			}
		}
		h.mu.RUnlock()
		for _, c := range doomed {
			h.log.Warn("stopping an actor whose account is no longer trusted", attrActor, c.Subject, "issuer", c.Issuer)
			sctx, cancel := stopCtx(h.cfg.RPCTimeout + 5*time.Second)
			if err := h.StopActor(sctx, c.Subject); err != nil && !errors.Is(err, ErrNotRunning) {
				h.log.Warn("could not stop an actor whose account is no longer trusted", attrActor, c.Subject, attrError, err)
			}
			cancel()
		}
	}
	if providers {
		trusted := h.providerIssuers()
		h.providers.mu.Lock()
		var doomed []*runningProvider
		for id, p := range h.providers.m {
			if p != nil && len(trusted) > 0 && !slices.Contains(trusted, p.claims.Issuer) {
				doomed = append(doomed, p)
				delete(h.providers.m, id)
			}
		}
		h.providers.mu.Unlock()
		for _, p := range doomed {
			h.log.Warn("stopping a provider whose account is no longer trusted", attrProvider, p.key, "issuer", p.claims.Issuer)
			sctx, cancel := stopCtx(providerShutdownGrace + 10*time.Second)
			h.stopProvider(sctx, p, "untrusted")
			cancel()
		}
	}
}

// current returns the configuration in force: the one given to New, as reloads changed it.
func (h *Host) current() config.Config {
	if c := h.reloaded.Load(); c != nil {
		return *c
	}
	return h.cfg
}

// restartOnly lists the settings that differ between cur and cfg and are applied only at start.
func restartOnly(cur, cfg config.Config) []string {
	var out []string
	check := func(name string, same bool) {
		if !same {
			out = append(out, name)
		}
	}
	check("WASMCLOUD_LATTICE_PREFIX", cur.LatticePrefix == cfg.LatticePrefix)
	check("WASMCLOUD_RPC_*", cur.RPC.URL() == cfg.RPC.URL() && cur.RPC.CredsFile == cfg.RPC.CredsFile)
	check("WASMCLOUD_CTL_*", cur.CTL.URL() == cfg.CTL.URL() && cur.CTL.CredsFile == cfg.CTL.CredsFile)
	check("WASMCLOUD_CTL_TOPIC_PREFIX", cur.CtlTopicPrefix == cfg.CtlTopicPrefix)
	check("WASMCLOUD_JS_DOMAIN", cur.JSDomain == cfg.JSDomain)
	check("WASMCLOUD_STATE_DIR", cur.StateDir == cfg.StateDir)
	check("WASMCLOUD_REPLAY_SCOPE", cur.ReplayScope == cfg.ReplayScope)
	check("WASMCLOUD_INVOCATION_VALIDITY", cur.InvocationValidity == cfg.InvocationValidity)
	check("WASMCLOUD_ADMIN_ADDRESS", cur.AdminAddress == cfg.AdminAddress)
	check("WASMCLOUD_PPROF", cur.Pprof == cfg.Pprof)
	check("WASMCLOUD_PROVIDER_SANDBOX", cur.ProviderUnconfined == cfg.ProviderUnconfined)
	check("WASMCLOUD_PROVIDER_CLUSTER_SEED", cur.ProviderClusterSeed == cfg.ProviderClusterSeed)
	return out
}

// cosignChanged reports whether the cosign settings differ.
func cosignChanged(cur, cfg config.Config) bool {
	a, b := cur.Cosign, cfg.Cosign
	return !slices.Equal(a.PublicKeys, b.PublicKeys) || a.TrustedRoot != b.TrustedRoot || a.CertificateIdentity != b.CertificateIdentity ||
		a.CertificateIdentityRegexp != b.CertificateIdentityRegexp || a.CertificateOIDCIssuer != b.CertificateOIDCIssuer ||
		a.CertificateOIDCIssuerRegexp != b.CertificateOIDCIssuerRegexp || cur.CosignVerifier.Trust() != cfg.CosignVerifier.Trust()
}

// sameRevocations reports whether two revocation lists revoke the same keys at the same times.
func sameRevocations(a, b *revoke.List) bool {
	if a.Len() != b.Len() {
		return false
	}
	for _, k := range a.Keys() {
		ta, _ := a.Before(k)
		if tb, ok := b.Before(k); !ok || !ta.Equal(tb) {
			return false
		}
	}
	return true
}

// newSubjectPolicy builds the subject policy of a configuration: the lattice's own subjects, and the policy
// topic granted by name.
func newSubjectPolicy(cfg config.Config) (*subject.Policy, error) {
	p, err := subject.NewPolicy(lattice.ReservedSubjects(cfg.CtlTopicPrefix, cfg.PolicyTopic, cfg.PolicyChangesTopic)...)
	if err != nil {
		return nil, fmt.Errorf("subject policy: %w", err)
	}
	if cfg.PolicyTopic != "" {
		if err := p.AllowExact(cfg.PolicyTopic); err != nil {
			return nil, fmt.Errorf("subject policy: %w", err)
		}
	}
	return p, nil
}
