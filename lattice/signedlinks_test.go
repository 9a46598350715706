package lattice

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmcloud-host/wasmcloud-host/control"
	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// refusals records what a LinkRefusalObserver is told, on top of a recorder.
type refusals struct {
	recorder
	mu      sync.Mutex
	refused []string // key + " " + reason
}

func (r *refusals) LinkRefused(_ context.Context, key, reason string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, key+" "+reason)
}

// count returns how many refusals of reason were reported.
func (r *refusals) count(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.refused {
		if strings.HasSuffix(s, " "+reason) {
			n++
		}
	}
	return n
}

// ctlKey is an operator key that signs control requests in these tests.
type ctlKey struct {
	signer *control.Signer
	pub    string
}

func newCtlKey(t testing.TB) ctlKey {
	t.Helper()
	kp, err := nkey.Generate(nkey.Operator)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	s, err := control.NewSigner(seed, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ctlKey{signer: s, pub: kp.Public().String()}
}

// sign returns a signed request for body on subject, issued at iat.
func (k ctlKey) sign(t testing.TB, subject string, body any, iat time.Time) control.SignedRequest {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.signer.SignAt(subject, b, iat)
	if err != nil {
		t.Fatal(err)
	}
	return control.SignedRequest{Token: tok, Body: b}
}

// startSignedData starts a Data of the lattice "default" on srv, in signed mode trusting the keys when there
// are any.
func startSignedData(t *testing.T, srv *server.Server, obs Observer, keys ...ctlKey) *Data {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	d := NewData("default", "", nil, obs, nil)
	if len(keys) > 0 {
		var issuers []string
		for _, k := range keys {
			issuers = append(issuers, k.pub)
		}
		v, err := control.NewVerifier(control.VerifierConfig{Issuers: issuers})
		if err != nil {
			t.Fatal(err)
		}
		d.RequireSignedLinks(v, NewCtlSubjects("wasmbus.ctl", "default"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Start(ctx, nc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return d
}

func TestSignedLinks(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	op, stranger := newCtlKey(t), newCtlKey(t)
	obsA, obsB := &refusals{}, &refusals{}
	a := startSignedData(t, srv, obsA, op)
	b := startSignedData(t, srv, obsB, op)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	kv := dataBucket(t, nc)
	ctx := context.Background()
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	provider := "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	link := control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "default",
		Values: map[string]string{"bucket": "tenant-a"}}
	key := LinkKey(link.ActorID, link.ContractID, link.LinkName)
	now := time.Now()

	// has reports whether d holds the link with the bucket value (any link when bucket is "").
	has := func(d *Data, bucket string) bool {
		l, ok := d.Link(link.ActorID, link.ContractID, link.LinkName)
		return ok && (bucket == "" || l.Values["bucket"] == bucket)
	}
	both := func(t *testing.T, what string, cond func(*Data) bool) {
		t.Helper()
		require.Eventually(t, 10*time.Second, func() bool { return cond(a) && cond(b) }, what)
	}
	// bucketHas waits until the bucket's entry for key carries the link with the bucket value.
	bucketHas := func(t *testing.T, bucket string) {
		t.Helper()
		require.Eventually(t, 10*time.Second, func() bool {
			e, err := kv.Get(ctx, key)
			if err != nil {
				return false
			}
			var l control.LinkDefinition
			return json.Unmarshal(e.Value(), &l) == nil && l.Values["bucket"] == bucket
		}, "the bucket holding the genuine link again")
	}
	// refusals counts the refusals of reason on both hosts, and checks that each was reported as well. A
	// host whose watch reads a forged entry only after another host wrote the genuine one back never sees
	// the forged one (the bucket keeps one revision per key), so a forgery is refused by one host or both.
	refused := func(reason string) int64 {
		n := a.Refused()[reason] + b.Refused()[reason]
		if got := obsA.count(reason) + obsB.count(reason); int64(got) != n {
			return -1
		}
		return n
	}
	refusedOnce := func(t *testing.T, reason string, before int64, write func(*testing.T)) {
		t.Helper()
		write(t)
		require.Eventually(t, 10*time.Second, func() bool { return refused(reason) > before }, "a refusal of %s reported", reason)
	}

	put := op.sign(t, subj.LinkPut(), link, now)
	t.Run("a signed link applies everywhere", func(t *testing.T) {
		stored, err := a.PutSignedLink(ctx, link, put)
		require.NoError(t, err)
		require.Equal(t, "id", stored.ID, strings.TrimPrefix(key, "LINKDEF_"))
		both(t, "the link", func(d *Data) bool { return has(d, "tenant-a") })
		e, err := kv.Get(ctx, key)
		require.NoError(t, err)
		var plain control.LinkDefinition // what an 0.x host reads
		require.NoError(t, json.Unmarshal(e.Value(), &plain))
		require.Equal(t, "0.x view", plain.Values["bucket"], "tenant-a")
	})

	forged := link
	forged.Values = map[string]string{"bucket": "tenant-b"}
	forgedKey := LinkKey(echoKey, "wasmcloud:messaging", "default")
	tests := []struct {
		name, key string
		write     func(t *testing.T)
		reason    string
	}{
		{"an unsigned link", forgedKey, func(t *testing.T) {
			mustPut(t, kv, forgedKey, control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:messaging", LinkName: "default"})
		}, RefusedLinkUnsigned},
		{"an unsigned change", key, func(t *testing.T) { mustPut(t, kv, key, forged) }, RefusedLinkUnsigned},
		{"a change signed by an untrusted key", key, func(t *testing.T) {
			r := stranger.sign(t, subj.LinkPut(), forged, now)
			mustPut(t, kv, key, signedLinkEntry{LinkDefinition: forged, Token: r.Token, Request: r.Body})
		}, RefusedLinkSignature},
		{"the genuine token on edited values", key, func(t *testing.T) {
			mustPut(t, kv, key, signedLinkEntry{LinkDefinition: forged, Token: put.Token, Request: put.Body})
		}, RefusedLinkSignature},
		{"a token for the deletion subject", key, func(t *testing.T) {
			r := op.sign(t, subj.LinkDel(), forged, now)
			mustPut(t, kv, key, signedLinkEntry{LinkDefinition: forged, Token: r.Token, Request: r.Body})
		}, RefusedLinkSignature},
		{"an older signed version", key, func(t *testing.T) {
			r := op.sign(t, subj.LinkPut(), forged, now.Add(-time.Hour))
			mustPut(t, kv, key, signedLinkEntry{LinkDefinition: forged, Token: r.Token, Request: r.Body})
		}, RefusedLinkStale},
		{"a direct delete", key, func(t *testing.T) { require.NoError(t, kv.Delete(ctx, key)) }, RefusedLinkDelete},
		{"a purge", key, func(t *testing.T) { require.NoError(t, kv.Purge(ctx, key)) }, RefusedLinkDelete},
		{"a deletion signed by an untrusted key", key, func(t *testing.T) {
			r := stranger.sign(t, subj.LinkDel(), control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}, now)
			e, _ := kv.Get(ctx, key)
			b, _ := json.Marshal(signedDeletion{Token: r.Token, Request: r.Body})
			require.NoError(t, a.publishDeletion(ctx, key, b, e.Revision()))
		}, RefusedLinkDelete},
		{"an older signed deletion", key, func(t *testing.T) {
			r := op.sign(t, subj.LinkDel(), control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}, now.Add(-time.Hour))
			e, _ := kv.Get(ctx, key)
			b, _ := json.Marshal(signedDeletion{Token: r.Token, Request: r.Body})
			require.NoError(t, a.publishDeletion(ctx, key, b, e.Revision()))
		}, RefusedLinkStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refusedOnce(t, tt.reason, refused(tt.reason), tt.write)
			both(t, "the genuine link", func(d *Data) bool { return has(d, "tenant-a") })
			if _, ok := a.Link(echoKey, "wasmcloud:messaging", "default"); ok {
				t.Fatal("the unsigned link applied")
			}
			if tt.key == key {
				bucketHas(t, "tenant-a") // written back by a host that holds it
			}
		})
	}
	require.Equal(t, "links", len(a.Links()), 1)

	del := op.sign(t, subj.LinkDel(), control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}, now.Add(time.Second))
	t.Run("a signed deletion applies everywhere", func(t *testing.T) {
		// Retried: a host may still be restoring the entry, and the deletion is conditional on the last revision.
		var r control.RemoveLinkDefinition
		require.NoError(t, json.Unmarshal(del.Body, &r))
		require.EventuallyNoError(t, 10*time.Second, func() error {
			_, ok, err := a.DelSignedLink(ctx, r, del)
			if err == nil && !ok {
				return errors.New("not found")
			}
			return err
		}, "the signed deletion")
		both(t, "no link", func(d *Data) bool { return !has(d, "") })
	})
	t.Run("the deleted link written back with its old signature", func(t *testing.T) {
		refusedOnce(t, RefusedLinkStale, refused(RefusedLinkStale), func(t *testing.T) {
			mustPut(t, kv, key, signedLinkEntry{LinkDefinition: link, Token: put.Token, Request: put.Body})
		})
		require.Eventually(t, 10*time.Second, func() bool {
			e, err := kv.Get(ctx, key)
			return errors.Is(err, jetstream.ErrKeyDeleted) || errors.Is(err, jetstream.ErrKeyNotFound) || (err == nil && e.Operation() != jetstream.KeyValuePut)
		}, "the deletion written back")
		both(t, "no link", func(d *Data) bool { return !has(d, "") })
	})
	t.Run("a newer signed put applies again", func(t *testing.T) {
		_, err := b.PutSignedLink(ctx, link, op.sign(t, subj.LinkPut(), link, now.Add(2*time.Second)))
		require.NoError(t, err)
		both(t, "the link", func(d *Data) bool { return has(d, "tenant-a") })
	})
	t.Run("a host started later trusts only the signed entries", func(t *testing.T) {
		c := startSignedData(t, srv, &refusals{}, op)
		require.Equal(t, "links", len(c.Links()), 1)
		require.True(t, has(c, "tenant-a"), "the signed link")
	})
	t.Run("a host in 0.x mode reads signed entries and deletions", func(t *testing.T) {
		plain := startSignedData(t, srv, nil)
		require.True(t, has(plain, "tenant-a"), "the signed link")
		_, ok, err := a.DelSignedLink(ctx, control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"},
			op.sign(t, subj.LinkDel(), control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}, now.Add(3*time.Second)))
		require.NoError(t, err)
		require.True(t, ok, "the link existed")
		require.Eventually(t, 10*time.Second, func() bool { return !has(plain, "") && !has(a, "") }, "the link deleted on both")
	})
}

// dataBucket opens the lattice bucket of "default".
func dataBucket(t testing.TB, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), DataBucket("default"))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// FuzzCheckSignedLink: no entry value makes the checks of a signed link or deletion panic, and a value is
// accepted only with a token of the trusted key.
func FuzzCheckSignedLink(f *testing.F) {
	op := newCtlKey(f)
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: []string{op.pub}})
	if err != nil {
		f.Fatal(err)
	}
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	s := &linkSigning{verifier: v, put: subj.LinkPut(), del: subj.LinkDel()}
	link := control.LinkDefinition{ActorID: echoKey, ProviderID: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{"bucket": "x"}}
	key := LinkKey(link.ActorID, link.ContractID, link.LinkName)
	put := op.sign(f, subj.LinkPut(), link, time.Now())
	rm := control.RemoveLinkDefinition{ActorID: echoKey, ContractID: link.ContractID, LinkName: "default"}
	del := op.sign(f, subj.LinkDel(), rm, time.Now())
	good, _ := json.Marshal(signedLinkEntry{LinkDefinition: link, Token: put.Token, Request: put.Body})
	goodDel, _ := json.Marshal(signedDeletion{Token: del.Token, Request: del.Body})
	plain, _ := json.Marshal(link)
	for _, seed := range [][]byte{good, goodDel, plain, nil, []byte("{}"), []byte(`{"ctl_token":"a.b.c","ctl_request":"e30="}`), []byte("null"), []byte("[")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		if _, _, r := s.checkSignedLink(key, value); r == nil {
			var e signedLinkEntry
			if json.Unmarshal(value, &e) != nil || e.Token == "" {
				t.Fatalf("accepted %q", value)
			}
		}
		if _, r := s.checkSignedDeletion(key, value); r == nil {
			var d signedDeletion
			if json.Unmarshal(value, &d) != nil || d.Token == "" {
				t.Fatalf("accepted deletion %q", value)
			}
		}
	})
}

// TestRestoredLinkIsNotAppliedAgain: the genuine entry written back after a forged change reaches the
// observer once, when it was first set, not again.
func TestRestoredLinkIsNotAppliedAgain(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	op := newCtlKey(t)
	obs := &refusals{}
	d := startSignedData(t, srv, obs, op)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	kv := dataBucket(t, nc)
	link := control.LinkDefinition{ActorID: echoKey, ProviderID: "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		ContractID: "wasmcloud:keyvalue", LinkName: "default", Values: map[string]string{}}
	_, err = d.PutSignedLink(context.Background(), link, op.sign(t, NewCtlSubjects("wasmbus.ctl", "default").LinkPut(), link, time.Now()))
	require.NoError(t, err)
	key := LinkKey(link.ActorID, link.ContractID, link.LinkName)
	require.Eventually(t, 10*time.Second, func() bool { _, ok := d.Link(echoKey, link.ContractID, "default"); return ok }, "the link")
	require.NoError(t, kv.Delete(context.Background(), key))
	require.Eventually(t, 10*time.Second, func() bool {
		e, err := kv.Get(context.Background(), key)
		return err == nil && e.Operation() == jetstream.KeyValuePut
	}, "the entry written back")
	// A barrier: once this later link applies, the restored entry has been seen.
	other := link
	other.LinkName = "other"
	_, err = d.PutSignedLink(context.Background(), other, op.sign(t, NewCtlSubjects("wasmbus.ctl", "default").LinkPut(), other, time.Now()))
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, func() bool { _, ok := d.Link(echoKey, link.ContractID, "other"); return ok }, "the barrier")
	obs.recorder.mu.Lock()
	defer obs.recorder.mu.Unlock()
	require.Equal(t, "links the observer was told about", len(obs.links), 2)
}

// TestRecheckSignedLinks: once a control key is no longer trusted (dropped at a reload, or revoked), the links
// it signed are withdrawn on a running host, the observer is told, and those another key signed stay; the
// link signed again by a trusted key applies.
func TestRecheckSignedLinks(t *testing.T) {
	srv := runServer(t, &server.Options{JetStream: true})
	old, cur := newCtlKey(t), newCtlKey(t)
	v, err := control.NewVerifier(control.VerifierConfig{Issuers: []string{old.pub, cur.pub}})
	require.NoError(t, err)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	defer nc.Close()
	obs := &removals{}
	d := NewData("default", "", nil, obs, nil)
	subj := NewCtlSubjects("wasmbus.ctl", "default")
	d.RequireSignedLinks(v, subj)
	ctx := context.Background()
	require.NoError(t, d.Start(ctx, nc))
	defer func() { require.NoError(t, d.Stop(ctx)) }()
	provider := "VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW"
	byOld := control.LinkDefinition{ActorID: echoKey, ProviderID: provider, ContractID: "wasmcloud:keyvalue", LinkName: "default",
		Values: map[string]string{"bucket": "a"}}
	byCur := byOld
	byCur.ContractID = "wasmcloud:messaging"
	for _, p := range []struct {
		l control.LinkDefinition
		k ctlKey
	}{{byOld, old}, {byCur, cur}} {
		_, err := d.PutSignedLink(ctx, p.l, p.k.sign(t, subj.LinkPut(), p.l, time.Now()))
		require.NoError(t, err)
	}
	has := func(l control.LinkDefinition) bool { _, ok := d.Link(l.ActorID, l.ContractID, l.LinkName); return ok }
	require.Eventually(t, 10*time.Second, func() bool { return has(byOld) && has(byCur) }, "both links")
	require.Equal(t, "withdrawn while both keys are trusted", d.RecheckSignedLinks(ctx), 0)

	require.NoError(t, v.SetIssuers([]string{cur.pub}))
	require.Equal(t, "withdrawn", d.RecheckSignedLinks(ctx), 1)
	require.False(t, has(byOld), "the link the dropped key signed is still in force")
	require.True(t, has(byCur), "the link the trusted key signed was withdrawn")
	require.DeepEqual(t, "links the observer was told were removed", obs.removedContracts(), []string{byOld.ContractID})

	_, err = d.PutSignedLink(ctx, byOld, cur.sign(t, subj.LinkPut(), byOld, time.Now()))
	require.NoError(t, err)
	require.Eventually(t, 10*time.Second, func() bool { return has(byOld) }, "the link signed again")
}

// removals is a recorder that also remembers the contracts of the links it was told were removed.
type removals struct {
	recorder
	mu      sync.Mutex
	removed []string
}

func (r *removals) LinkChanged(ctx context.Context, l control.LinkDefinition, set bool) {
	r.recorder.LinkChanged(ctx, l, set)
	if !set {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.removed = append(r.removed, l.ContractID)
	}
}

func (r *removals) removedContracts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.removed)
}
