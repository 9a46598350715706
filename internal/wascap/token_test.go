package wascap

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/nkey"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// fixtureToken pulls the embedded token out of a fixture module by its fixed header segment, so these tests
// do not depend on the wasm section walker.
func fixtureToken(tb testing.TB, actor string) string {
	tb.Helper()
	b := testutil.Actor(tb, actor)
	i := bytes.Index(b, []byte(headerSegment))
	if i < 0 {
		tb.Fatalf("%s: no token", actor)
	}
	end := i
	for end < len(b) && (b[end] == '.' || b[end] == '-' || b[end] == '_' ||
		(b[end] >= 'a' && b[end] <= 'z') || (b[end] >= 'A' && b[end] <= 'Z') || (b[end] >= '0' && b[end] <= '9')) {
		end++
	}
	return string(b[i:end])
}

func TestFixtureTokens(t *testing.T) {
	tests := []struct {
		actor   string
		claims  Claims
		meta    Actor
		jsonLen int
	}{
		{"echo.wasm", Claims{ID: "SjB5fm974Sju9WMgTUchsb", IssuedAt: 1644843743,
			Issuer: "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW", Subject: "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5"},
			Actor{Name: "Echo", Hash: "4CEC673A7DCCEA6A4165BB195832C7936471CF7AB4501F837F8D679F4400BC97", Tags: []string{},
				Caps: []string{"wasmcloud:httpserver"}, Rev: 4, Ver: "0.3.4"}, 601},
		{"echo_unpriv_s.wasm", Claims{ID: "8JIn4HaoOsSnzdPlYTU6ai", IssuedAt: 1642791045,
			Issuer: "ADYDCRUIFKCUZFVHZFBVZCPBR6HAT2U63VSVD2BBIWGM62KMJL5RR5YM", Subject: "MCRACEYKJLCP7NLVMUTO2SCQ26JFL3Z4TBIXPXDE7KPBI2GEH5DA57L5"},
			Actor{Name: "echo", Hash: "AB107F5C2239D84980CC217FF31B286D158029D15E524D7FB266D289CED4462E", Tags: []string{},
				Caps: []string{""}, Rev: 4, Ver: "0.3.3"}, 574},
		{"kvcounter.wasm", Claims{ID: "BFbvsOkF97vakWe3Nhd8RX", IssuedAt: 1631625045,
			Issuer: "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW", Subject: "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E"},
			Actor{Name: "kvcounter", Hash: "7CC05764EF3F818E305FD7C598F80BA98936B3FBA8948D40879BD65D60DC28C1", Tags: []string{},
				Caps: []string{"wasmcloud:httpserver", "wasmcloud:keyvalue"}, Ver: "0.3.0"}, 635},
		{"example_policy_s.wasm", Claims{ID: "tQkwFs5NC3oMcrYdjMMtLN", IssuedAt: 1660741993,
			Issuer: "ADANTQNWB7RCDOITC7Y3NJ3I7NPEJH6L5PRVG4TPYZXI45Z3K22VHMTY", Subject: "MCX7HXCVATHJQRQLCCKV57R34V726FYRTDQL2QKPHXLYFWGOUE2LWRE3"},
			Actor{Name: "Sample wasmCloud Policy", Hash: "6EF893FA304B5138C67BDAF92AB8FBDEED2D5E47D95E9DB2598202EBA9CAC46B", Tags: []string{},
				Caps: []string{"wasmcloud:messaging"}, Ver: "0.1.0"}, 625},
	}
	for _, tc := range tests {
		t.Run(tc.actor, func(t *testing.T) {
			raw := fixtureToken(t, tc.actor)
			if len(raw) != tc.jsonLen {
				t.Fatalf("token is %d bytes, want %d", len(raw), tc.jsonLen)
			}
			tok, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tok.VerifyIssuer(nkey.Account); err != nil {
				t.Fatal(err)
			}
			if err := tok.CheckSubject(nkey.Module); err != nil {
				t.Fatal(err)
			}
			got := tok.Claims
			got.Metadata = nil
			if !reflect.DeepEqual(got, tc.claims) {
				t.Fatalf("claims = %+v\nwant %+v", got, tc.claims)
			}
			var meta Actor
			if err := tok.DecodeMetadata(&meta); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(meta, tc.meta) {
				t.Fatalf("metadata = %+v\nwant %+v", meta, tc.meta)
			}
			if err := tok.CheckTime(time.Now(), 0); err != nil {
				t.Fatalf("a token without exp/nbf is always in time: %v", err)
			}
		})
	}
}

// segments re-assembles a token from its three parts.
func segments(h, c, s string) string { return h + "." + c + "." + s }

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestParseRefusals(t *testing.T) {
	good := fixtureToken(t, "echo.wasm")
	parts := strings.Split(good, ".")
	h, c, s := parts[0], parts[1], parts[2]
	claims := func(js string) string { return segments(h, enc(js), s) }

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrSegments},
		{"two segments", h + "." + c, ErrSegments},
		{"four segments", good + ".x", ErrSegments},
		{"too large", strings.Repeat("a", MaxTokenSize+1), ErrTooLarge},
		{"padded claims", segments(h, c+"==", s), ErrEncoding},
		{"standard alphabet", segments(h, c[:5]+"+"+c[6:], s), ErrEncoding},
		{"header not base64", segments("!!", c, s), ErrEncoding},
		{"header not json", segments(enc("nope"), c, s), ErrHeader},
		{"header alg HS256", segments(enc(`{"typ":"jwt","alg":"HS256"}`), c, s), ErrAlgorithm},
		{"header alg missing", segments(enc(`{"typ":"jwt"}`), c, s), ErrAlgorithm},
		{"header alg case", segments(enc(`{"typ":"jwt","alg":"ed25519"}`), c, s), ErrAlgorithm},
		{"header typ JWT", segments(enc(`{"typ":"JWT","alg":"Ed25519"}`), c, s), ErrHeader},
		{"header crit", segments(enc(`{"typ":"jwt","alg":"Ed25519","crit":["exp"]}`), c, s), ErrCritical},
		{"truncated signature", good[:len(good)-10], ErrSignatureSize},
		{"signature not base64", segments(h, c, s[:len(s)-1]+"*"), ErrEncoding},
		{"claims not json", claims("not json"), ErrClaims},
		{"claims an array", claims(`[1]`), ErrClaims},
		{"claims trailing data", claims(`{"iss":"A","sub":"M","jti":"x","iat":1}{}`), ErrClaims},
		{"iat a string", claims(`{"iss":"A","sub":"M","jti":"x","iat":"1"}`), ErrClaims},
		{"negative exp", claims(`{"iss":"A","sub":"M","jti":"x","iat":1,"exp":-5}`), ErrClaims},
		{"missing issuer", claims(`{"sub":"M","jti":"x","iat":1}`), ErrMissingIssuer},
		{"missing subject", claims(`{"iss":"A","jti":"x","iat":1}`), ErrMissingSubject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.tok)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestSignatureRefusals(t *testing.T) {
	good := fixtureToken(t, "echo.wasm")
	parts := strings.Split(good, ".")

	// A changed signature character (one that changes the decoded bytes).
	sig := []byte(parts[2])
	sig[5] ^= 1
	tampered := segments(parts[0], parts[1], string(sig))

	// Widened caps without re-signing.
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	widened := bytes.Replace(raw, []byte(`"caps":["wasmcloud:httpserver"]`), []byte(`"caps":["wasmcloud:httpserver","wasmcloud:keyvalue"]`), 1)
	if bytes.Equal(raw, widened) {
		t.Fatal("test bug: caps not found")
	}
	edited := segments(parts[0], enc(string(widened)), parts[2])

	// A header with the same meaning but other bytes: the signature covers the bytes as sent.
	reordered := segments(enc(`{"alg":"Ed25519","typ":"jwt"}`), parts[1], parts[2])

	for name, tok := range map[string]string{"changed signature": tampered, "widened caps": edited, "re-encoded header": reordered} {
		t.Run(name, func(t *testing.T) {
			parsed, err := Parse(tok)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parsed.VerifyIssuer(nkey.Account)
			require.ErrorIs(t, err, ErrSignature)
		})
	}

	t.Run("issuer of the wrong type", func(t *testing.T) {
		parsed, _ := Parse(good)
		_, err := parsed.VerifyIssuer(nkey.Cluster)
		require.ErrorIs(t, err, ErrIssuer)
		require.ErrorIs(t, err, nkey.ErrWrongType)
	})
	t.Run("subject of the wrong type", func(t *testing.T) {
		parsed, _ := Parse(good)
		require.ErrorIs(t, parsed.CheckSubject(nkey.Service), ErrSubject)
	})
	t.Run("verify under another key", func(t *testing.T) {
		parsed, _ := Parse(good)
		other, _ := nkey.Generate(nkey.Account)
		require.ErrorIs(t, parsed.Verify(other.Public()), ErrSignature)
	})
}

func TestTimeBounds(t *testing.T) {
	kp, _ := nkey.Generate(nkey.Cluster)
	now := time.Unix(1_800_000_000, 0)
	sign := func(exp, nbf int64) *Token {
		t.Helper()
		raw, err := Sign(Claims{Subject: "x", IssuedAt: now.Unix(), Expires: exp, NotBefore: nbf}, Invocation{}, kp)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tok.VerifyIssuer(nkey.Cluster); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	skew := 5 * time.Second
	tests := []struct {
		name     string
		exp, nbf int64
		want     error
	}{
		{"no bounds", 0, 0, nil},
		{"valid window", now.Unix() + 30, now.Unix() - 1, nil},
		{"expired beyond skew", now.Unix() - 6, 0, ErrExpired},
		{"expired within skew", now.Unix() - 5, 0, nil},
		{"not yet valid beyond skew", 0, now.Unix() + 6, ErrNotYetValid},
		{"not yet valid within skew", 0, now.Unix() + 5, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sign(tc.exp, tc.nbf).CheckTime(now, skew)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestSignRoundTrip(t *testing.T) {
	kp, _ := nkey.Generate(nkey.Account)
	meta := Actor{Name: "hello <&>", Hash: "AB", Tags: []string{"t"}, Caps: []string{"wasmcloud:keyvalue"}, Rev: 7,
		Ver: "1.2.3", CallAlias: "greeter"}
	raw, err := Sign(Claims{Subject: "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5", IssuedAt: 10, Expires: 20,
		NotBefore: 5, Revision: Revision}, meta, kp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, headerSegment+".") {
		t.Fatalf("header segment: %s", raw)
	}
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if key, err := tok.VerifyIssuer(nkey.Account); err != nil || key != kp.Public() {
		t.Fatalf("VerifyIssuer = %v, %v", key, err)
	}
	c := tok.Claims
	if c.Issuer != kp.Public().String() || c.IssuedAt != 10 || c.Expires != 20 || c.NotBefore != 5 ||
		c.Revision != Revision || len(c.ID) != 22 {
		t.Fatalf("claims %+v", c)
	}
	var got Actor
	if err := tok.DecodeMetadata(&got); err != nil || !reflect.DeepEqual(got, meta) {
		t.Fatalf("metadata %+v, %v", got, err)
	}
	// Key order and escaping as wascap writes them.
	body, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	if !bytes.HasPrefix(body, []byte(`{"exp":20,"jti":"`)) || !bytes.Contains(body, []byte(`"nbf":5,"wascap":{"name":"hello <&>","hash":"AB"`)) ||
		!bytes.HasSuffix(body, []byte(`"prov":false},"wascap_revision":3}`)) {
		t.Fatalf("claims JSON %s", body)
	}
}

func TestNoMetadata(t *testing.T) {
	kp, _ := nkey.Generate(nkey.Account)
	raw, _ := Sign(Claims{Subject: "x"}, nil, kp)
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var a Actor
	require.ErrorIs(t, tok.DecodeMetadata(&a), ErrNoMetadata)

	raw, _ = Sign(Claims{Subject: "x"}, json.RawMessage(`{"caps":"not a list"}`), kp)
	tok, _ = Parse(raw)
	require.ErrorIs(t, tok.DecodeMetadata(&a), ErrMetadata)
}

func FuzzParse(f *testing.F) {
	for _, a := range []string{"echo.wasm", "kvcounter.wasm", "example_policy_s.wasm"} {
		f.Add(fixtureToken(f, a))
	}
	f.Add("a.b.c")
	f.Add(headerSegment + ".e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			return
		}
		_, _ = tok.VerifyIssuer()
		_ = tok.CheckTime(time.Now(), time.Second)
		var a Actor
		_ = tok.DecodeMetadata(&a)
	})
}

var sink any

func BenchmarkVerify(b *testing.B) {
	raw := fixtureToken(b, "echo.wasm")
	tok, _ := Parse(raw)
	key, _ := tok.VerifyIssuer()
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink, _ = Parse(raw)
		}
	})
	b.Run("parse+verify/known-key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, _ := Parse(raw)
			sink = t.Verify(key)
		}
	})
	b.Run("parse+verify/parse-issuer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t, _ := Parse(raw)
			sink, _ = t.VerifyIssuer(nkey.Account)
		}
	})
	b.Run("baseline/ed25519-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sink = key.Verify(tok.SigningInput(), tok.sig[:])
		}
	})
}

func BenchmarkSign(b *testing.B) {
	kp, _ := nkey.Generate(nkey.Cluster)
	meta := Invocation{TargetURL: "wasmbus://MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5/HttpServer.HandleRequest",
		OriginURL: "wasmbus://wasmcloud/httpserver/default/VC3IJSRK3KIJUD5PQIEU2UNWT4PQCRYTAXFC4PDLTCMDX7L77YRUGCXW",
		Hash:      "6F818CD888A96D649F75E827A4CAF753085E4A5DFDBC1D2E8A1E79092C9E6D2E"}
	b.ReportAllocs()
	for b.Loop() {
		sink, _ = Sign(Claims{Subject: "0b2a6f5e-1c4b-4a39-9d7e-2f4f8d2d9c11", Expires: 1}, meta, kp)
	}
}
