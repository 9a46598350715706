package actor

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wascap"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wasmbin"
)

func verifyFixture(t *testing.T, name string) *Claims {
	t.Helper()
	c, err := Verify(name, testutil.Actor(t, name), VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify(%s): %v", name, err)
	}
	return c
}

// wantRefused checks that err is a *ModuleError for module with exactly the given reason.
func wantRefused(t *testing.T, err error, module string, reason error) {
	t.Helper()
	var me *ModuleError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *ModuleError", err, err)
	}
	if me.Reason != reason {
		t.Fatalf("reason = %v, want %v (error: %v)", me.Reason, reason, err)
	}
	if !errors.Is(err, reason) {
		t.Fatalf("errors.Is(%v, %v) = false", err, reason)
	}
	if !strings.Contains(err.Error(), module) {
		t.Fatalf("error %q does not name the module %q", err, module)
	}
}

// The expected values are those of the fixtures' README and VECTORS tables.
func TestVerifyFixtures(t *testing.T) {
	const wasmcloudAccount = "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW"
	tests := []struct {
		file, issuer, subject, name, hash string
		caps                              []string
		rev                               int32
		wascapRevision                    int
	}{
		{"echo.wasm", wasmcloudAccount, "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", "Echo",
			"4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97", []string{"wasmcloud:httpserver"}, 4, 0},
		{"echo_unpriv_s.wasm", "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM", "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5",
			"echo", "AB107F5C2239D84980CC217FF31B286D158029D15E524D7FB266D289CED4462E", []string{""}, 4, 0},
		{"kvcounter.wasm", wasmcloudAccount, "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E", "kvcounter",
			"7CC05764EF3F818E305FD7C598F80BA98936B3FBA8948D40879BD65D60DC28C1", []string{"wasmcloud:httpserver", "wasmcloud:keyvalue"}, 0, 0},
		{"kvcounter_unpriv_s.wasm", "ABRIBHH54GM7QIEJBYYGZJUSDAMO34YM4SKWUQJGIILRB7JYGXEPWUVT", "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU",
			"kvcounter", "A2CC0655766DDCE08FA5CB8C663E7AD6AEB44CEEAB790F5BC31ED31B8DD518E3", []string{"wasmcloud:httpserver"}, 0, 0},
		{"example_policy_s.wasm", "ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY", "MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3",
			"Sample wasmCloud Policy", "6EF893FA304B5138C67BDAF92AB8FBDEED2D5E47D95E9DB2598202EBA9CAC46B", []string{"wasmcloud:messaging"}, 0, 0},
		{"wascap_echo_messaging_v0.9.0.wasm", "ABRK5MP6QRTH7HXOVP2PR2TLDW6DPLBAF3LTGVWQRFVEF7W5VOUMACXB", "MDJ5BWS6JXSWOZL2ZENW2D4FBSHQ5ZMFGEGJB33TLKYKMXTLLAXINU36",
			"", "", []string{"wasmcloud:messaging", "wasmcloud:builtin:logging"}, 0, 2},
		{"wascap_logger.wasm", wasmcloudAccount, "MAARQX72EAZ4T4ODYOQZED3FJ6P27KWWVVTUNV6TVX2VBRVVSUKLAQHP",
			"", "", []string{"wasmcloud:httpserver", "wasmcloud:logging"}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c := verifyFixture(t, tc.file)
			if c.Issuer != tc.issuer || c.Subject != tc.subject {
				t.Fatalf("issuer/subject = %s/%s", c.Issuer, c.Subject)
			}
			if !reflect.DeepEqual(c.Caps, tc.caps) {
				t.Fatalf("caps = %q, want %q", c.Caps, tc.caps)
			}
			if c.CallAlias != "" || !c.Expires.IsZero() || !c.NotBefore.IsZero() {
				t.Fatalf("unexpected alias or time bounds: %+v", c)
			}
			if c.WascapRevision != tc.wascapRevision {
				t.Fatalf("wascap_revision = %d", c.WascapRevision)
			}
			if tc.name != "" && (c.Name != tc.name || c.Hash != tc.hash || c.Rev != tc.rev) {
				t.Fatalf("name/hash/rev = %q/%s/%d", c.Name, c.Hash, c.Rev)
			}
			mod, _ := wasmbin.Parse(testutil.Actor(t, tc.file))
			if c.Hash != wasmbin.HexUpper(mod.HashRaw()) {
				t.Fatalf("hash %s is not the module's", c.Hash)
			}
		})
	}
}

// The .nk seeds derive the issuers and subjects of the two _unpriv fixtures.
func TestFixtureKeysDeriveUnprivClaims(t *testing.T) {
	for _, name := range []string{"echo_unpriv", "kvcounter_unpriv"} {
		c := verifyFixture(t, name+"_s.wasm")
		acct := mustSeed(t, "keys/"+name+"_account.nk")
		mod := mustSeed(t, "keys/"+name+"_module.nk")
		if acct.Public().String() != c.Issuer || mod.Public().String() != c.Subject {
			t.Fatalf("%s: keys derive %s/%s, claims say %s/%s", name, acct.Public(), mod.Public(), c.Issuer, c.Subject)
		}
	}
}

func mustSeed(t *testing.T, rel string) *nkey.KeyPair {
	t.Helper()
	kp, err := nkey.ParseSeed(bytes.TrimSpace(testutil.ReadFile(t, rel)))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// section returns the first section with the given id.
func section(t *testing.T, wasm []byte, id byte) wasmbin.Section {
	t.Helper()
	mod, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range mod.Sections {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no section %d", id)
	return wasmbin.Section{}
}

func tokenSection(t *testing.T, wasm []byte) wasmbin.Section {
	t.Helper()
	mod, err := wasmbin.Parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	toks := mod.TokenSections()
	if len(toks) != 1 {
		t.Fatalf("%d token sections", len(toks))
	}
	return toks[0]
}

// replaceToken rebuilds the module around another token, keeping every other byte (the fixtures' sizes are
// already minimal, so the hash is unchanged).
func replaceToken(t *testing.T, wasm []byte, token string) []byte {
	t.Helper()
	out, err := wasmbin.Embed(wasm, []byte(token))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTamperedModules(t *testing.T) {
	const name = "echo.wasm"
	orig := testutil.Actor(t, name)
	tok := tokenSection(t, orig)
	token := string(tok.Payload())
	parts := strings.Split(token, ".")

	flipped := bytes.Clone(orig)
	code := section(t, flipped, wasmbin.CodeSectionID)
	flipped[code.ContentOffset+code.Size()/2] ^= 0x01

	sig := []byte(parts[2])
	sig[3] ^= 0x01
	badSig := replaceToken(t, orig, parts[0]+"."+parts[1]+"."+string(sig))

	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	wide := bytes.Replace(body, []byte(`["wasmcloud:httpserver"]`), []byte(`["wasmcloud:httpserver","wasmcloud:keyvalue"]`), 1)
	widened := replaceToken(t, orig, parts[0]+"."+base64.RawURLEncoding.EncodeToString(wide)+"."+parts[2])

	removed, _ := wasmbin.Strip(orig)
	truncated := replaceToken(t, orig, token[:len(token)-12])

	front := append(append(append([]byte{}, orig[:8]...), tok.Raw()...), orig[8:tok.Offset]...)
	front = append(front, orig[tok.End:]...)

	twice := append(bytes.Clone(orig), tok.Raw()...)

	tests := []struct {
		name   string
		module []byte
		want   error // nil: accepted
	}{
		{"untouched", orig, nil},
		{"flipped code byte", flipped, ErrHashMismatch},
		{"changed signature character", badSig, ErrBadSignature},
		{"widened caps without re-signing", widened, ErrBadSignature},
		{"token section removed", removed, ErrUnsigned},
		{"token truncated", truncated, ErrMalformedToken},
		{"token section moved to the front", front, nil},
		{"two token sections", twice, ErrMultipleTokens},
		{"not wasm", []byte("\x7fELF"), ErrMalformedModule},
		{"module truncated", orig[:len(orig)/2], ErrMalformedModule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Verify(name, tc.module, VerifyOptions{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.Subject != "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5" {
					t.Fatalf("subject %s", c.Subject)
				}
				return
			}
			wantRefused(t, err, name, tc.want)
		})
	}
}

// signModule signs a module with fresh keys, then lets edit change the token before embedding. It is how the
// tests build tokens the fixtures do not have.
func signWith(t *testing.T, wasm []byte, o SignOptions) []byte {
	t.Helper()
	if o.Issuer == nil {
		o.Issuer, _ = nkey.Generate(nkey.Account)
	}
	if o.Subject.IsZero() {
		m, _ := nkey.Generate(nkey.Module)
		o.Subject = m.Public()
	}
	if o.Name == "" {
		o.Name = "test"
	}
	out, err := Sign(wasm, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRefusesBadTokens(t *testing.T) {
	orig := testutil.Actor(t, "example_policy_s.wasm")
	now := time.Unix(1_800_000_000, 0)
	stripped, _ := wasmbin.Strip(orig)
	hash := func() string { m, _ := wasmbin.Parse(stripped); return wasmbin.HexUpper(m.HashRaw()) }()

	// embed signs arbitrary claims and metadata with key kp and embeds them.
	embed := func(kp *nkey.KeyPair, c wascap.Claims, meta any) []byte {
		t.Helper()
		tok, err := wascap.Sign(c, meta, kp)
		if err != nil {
			t.Fatal(err)
		}
		return replaceToken(t, orig, tok)
	}
	acct, _ := nkey.Generate(nkey.Account)
	cluster, _ := nkey.Generate(nkey.Cluster)
	mod, _ := nkey.Generate(nkey.Module)
	svc, _ := nkey.Generate(nkey.Service)
	claims := wascap.Claims{Subject: mod.Public().String(), IssuedAt: now.Unix()}
	withSub := func(sub string) wascap.Claims { c := claims; c.Subject = sub; return c }

	// A validly signed token of revision 0 (no wascap_revision) over other code: wascap would skip the hash.
	legacy := wascap.Claims{Subject: mod.Public().String(), IssuedAt: now.Unix()}
	otherHash := strings.Repeat("AB", 32)

	tests := []struct {
		name   string
		module []byte
		want   error
	}{
		{"expired", signWith(t, orig, SignOptions{IssuedAt: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}), ErrExpired},
		{"not yet valid", signWith(t, orig, SignOptions{NotBefore: now.Add(time.Hour)}), ErrNotYetValid},
		{"issuer is a cluster key", embed(cluster, claims, wascap.Actor{Hash: hash}), ErrIssuer},
		{"subject is a service key", embed(acct, withSub(svc.Public().String()), wascap.Actor{Hash: hash}), ErrSubject},
		{"subject is not a key", embed(acct, withSub("echo"), wascap.Actor{Hash: hash}), ErrSubject},
		{"no metadata", embed(acct, claims, nil), ErrMetadata},
		{"no hash", embed(acct, claims, wascap.Actor{Name: "x"}), ErrMetadata},
		{"legacy token over other code", embed(acct, legacy, wascap.Actor{Hash: otherHash}), ErrHashMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify("policy.wasm", tc.module, VerifyOptions{Now: now})
			wantRefused(t, err, "policy.wasm", tc.want)
		})
	}

	t.Run("skew tolerates a slightly early nbf", func(t *testing.T) {
		m := signWith(t, orig, SignOptions{NotBefore: now.Add(3 * time.Second)})
		if _, err := Verify("p", m, VerifyOptions{Now: now, Skew: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSignRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	acct := mustSeed(t, "keys/echo_unpriv_account.nk")
	mod := mustSeed(t, "keys/echo_unpriv_module.nk")
	opts := SignOptions{
		Issuer: acct, Subject: mod.Public(), Name: "greeter", Caps: []string{"wasmcloud:httpserver", "wasmcloud:builtin:logging"},
		Tags: []string{"a", "b"}, Rev: 12, Ver: "1.2.3", CallAlias: "greeter/v1",
		IssuedAt: now, Expires: now.Add(24 * time.Hour), NotBefore: now.Add(-time.Minute),
	}
	for _, fixture := range []string{"echo_unpriv_s.wasm", "wascap_echo_messaging_v0.9.0.wasm"} {
		t.Run(fixture, func(t *testing.T) {
			signed, err := Sign(testutil.Actor(t, fixture), opts)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Verify("signed.wasm", signed, VerifyOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			want := Claims{Issuer: acct.Public().String(), Subject: mod.Public().String(), Name: "greeter", Hash: c.Hash,
				Caps: opts.Caps, Tags: opts.Tags, Rev: 12, Ver: "1.2.3", CallAlias: "greeter/v1", IssuedAt: now,
				Expires: opts.Expires, NotBefore: opts.NotBefore, WascapRevision: 3, ID: c.ID, Token: c.Token}
			if !reflect.DeepEqual(*c, want) {
				t.Fatalf("claims\n%+v\nwant\n%+v", *c, want)
			}
			m, _ := wasmbin.Parse(signed)
			raw, minimal := m.Hashes()
			if c.Hash != wasmbin.HexUpper(raw) || c.Hash != wasmbin.HexUpper(minimal) {
				t.Fatalf("signed module does not verify under both hash rules")
			}
			toks := m.TokenSections()
			if len(toks) != 1 || toks[0].Name != wasmbin.TokenSectionName || toks[0].Offset != m.Sections[len(m.Sections)-1].Offset {
				t.Fatalf("token sections: %+v", toks)
			}

			// Re-signing keeps one token section and the same module hash.
			again, err := Sign(signed, SignOptions{Issuer: acct, Subject: mod.Public(), Name: "renamed"})
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Verify("again.wasm", again, VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m2, _ := wasmbin.Parse(again)
			if len(m2.TokenSections()) != 1 || c2.Hash != c.Hash || c2.Name != "renamed" || len(c2.Tags) != 0 || c2.Tags == nil {
				t.Fatalf("re-signed: %d tokens, claims %+v", len(m2.TokenSections()), c2)
			}
		})
	}
}

func TestSignRefusesBadOptions(t *testing.T) {
	wasm := testutil.Actor(t, "example_policy_s.wasm")
	acct, _ := nkey.Generate(nkey.Account)
	cluster, _ := nkey.Generate(nkey.Cluster)
	mod, _ := nkey.Generate(nkey.Module)
	now := time.Now()
	tests := []struct {
		name string
		o    SignOptions
	}{
		{"no issuer", SignOptions{Subject: mod.Public(), Name: "x"}},
		{"cluster issuer", SignOptions{Issuer: cluster, Subject: mod.Public(), Name: "x"}},
		{"account subject", SignOptions{Issuer: acct, Subject: acct.Public(), Name: "x"}},
		{"no name", SignOptions{Issuer: acct, Subject: mod.Public()}},
		{"empty cap", SignOptions{Issuer: acct, Subject: mod.Public(), Name: "x", Caps: []string{""}}},
		{"expires before nbf", SignOptions{Issuer: acct, Subject: mod.Public(), Name: "x", Expires: now, NotBefore: now.Add(time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Sign(wasm, tc.o); err == nil {
				t.Fatal("Sign accepted bad options")
			}
		})
	}
	if _, err := Sign([]byte("nope"), SignOptions{Issuer: acct, Subject: mod.Public(), Name: "x"}); !errors.Is(err, ErrMalformedModule) {
		t.Fatalf("Sign(garbage) = %v", err)
	}
}

func TestInspectShowsRefusedClaims(t *testing.T) {
	orig := testutil.Actor(t, "echo.wasm")
	flipped := bytes.Clone(orig)
	code := section(t, flipped, wasmbin.CodeSectionID)
	flipped[code.ContentOffset+10] ^= 0xff
	c, err := Inspect("echo.wasm", flipped, VerifyOptions{})
	wantRefused(t, err, "echo.wasm", ErrHashMismatch)
	if c == nil || c.Name != "Echo" || c.Subject != "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5" {
		t.Fatalf("Inspect claims = %+v", c)
	}
	if c, err := Verify("echo.wasm", flipped, VerifyOptions{}); c != nil || err == nil {
		t.Fatal("Verify returned claims for a refused module")
	}
	stripped, _ := wasmbin.Strip(orig)
	if c, err := Inspect("x", stripped, VerifyOptions{}); c != nil || !errors.Is(err, ErrUnsigned) {
		t.Fatalf("Inspect(unsigned) = %v, %v", c, err)
	}
}

func TestHasCap(t *testing.T) {
	c := verifyFixture(t, "kvcounter.wasm")
	if !c.HasCap("wasmcloud:keyvalue") || c.HasCap("wasmcloud:messaging") || slices.Contains(c.Caps, "") {
		t.Fatalf("caps %q", c.Caps)
	}
}

func BenchmarkVerify(b *testing.B) {
	wasm := testutil.Actor(b, "echo.wasm")
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify("echo.wasm", wasm, VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
