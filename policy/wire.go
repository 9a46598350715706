package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxResponseBytes bounds what is read of an answer: a NATS reply, an OPA response body or a change
// message. Real answers are under 1 KiB; anything larger is refused as a bad response.
const MaxResponseBytes = 64 << 10

// maxMessage bounds the policy service's message kept in a Decision and an error.
const maxMessage = 1024

// The wire shapes of a request, in the key order the OTP host sends. Targets carry the four fields
// both 0.x hosts send for a target; sources all eight.
type wireSource struct {
	PublicKey    string   `json:"publicKey"`
	ContractID   string   `json:"contractId"`
	LinkName     string   `json:"linkName"`
	Capabilities []string `json:"capabilities"`
	Issuer       string   `json:"issuer"`
	IssuedOn     string   `json:"issuedOn"`
	ExpiresAt    *int64   `json:"expiresAt"`
	Expired      bool     `json:"expired"`
}

type wireTarget struct {
	PublicKey  string `json:"publicKey"`
	Issuer     string `json:"issuer"`
	ContractID string `json:"contractId"`
	LinkName   string `json:"linkName"`
}

type wireHost struct {
	PublicKey      string            `json:"publicKey"`
	Issuer         string            `json:"issuer"`
	LatticeID      string            `json:"latticeId"`
	Labels         map[string]string `json:"labels"`
	ClusterIssuers []string          `json:"clusterIssuers"`
}

// wireLink holds a put_link's fields under the names of the security guide's link policy, at the top
// level of the request.
type wireLink struct {
	ActorPublicKey   string            `json:"actor_public_key"`
	ProviderID       string            `json:"provider_id"`
	ProviderContract string            `json:"provider_contract"`
	LinkName         string            `json:"link_name"`
	LinkValues       map[string]string `json:"link_values"`
}

type wireRequest struct {
	RequestID string          `json:"requestId"`
	Source    wireSource      `json:"source"`
	Target    wireTarget      `json:"target"`
	Action    Action          `json:"action"`
	Host      json.RawMessage `json:"host"`
	*wireLink
}

// encodeHost encodes the host part once per Service; nil labels and issuers are sent as {} and [].
func encodeHost(h HostInfo) json.RawMessage {
	w := wireHost{
		PublicKey:      h.PublicKey,
		Issuer:         h.Issuer,
		LatticeID:      h.LatticeID,
		Labels:         h.Labels,
		ClusterIssuers: h.ClusterIssuers,
	}
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	if w.ClusterIssuers == nil {
		w.ClusterIssuers = []string{}
	}
	b, _ := json.Marshal(w) // strings and maps of strings always encode
	return b
}

// encodeRequest encodes a normalized request as the JSON object that is the NATS request and the OPA
// input.
func encodeRequest(id string, r *Request, host json.RawMessage) []byte {
	w := wireRequest{
		RequestID: id,
		Source: wireSource{
			PublicKey:    r.Source.PublicKey,
			ContractID:   r.Source.ContractID,
			LinkName:     r.Source.LinkName,
			Capabilities: r.Source.Capabilities,
			Issuer:       r.Source.Issuer,
			IssuedOn:     r.Source.IssuedOn,
			ExpiresAt:    r.Source.ExpiresAt,
			Expired:      r.Source.Expired,
		},
		Target: wireTarget{
			PublicKey:  r.Target.PublicKey,
			Issuer:     r.Target.Issuer,
			ContractID: r.Target.ContractID,
			LinkName:   r.Target.LinkName,
		},
		Action: r.Action,
		Host:   host,
	}
	if w.Source.Capabilities == nil {
		w.Source.Capabilities = []string{}
	}
	if l := r.Link; l != nil {
		w.wireLink = &wireLink{
			ActorPublicKey:   l.ActorID,
			ProviderID:       l.ProviderID,
			ProviderContract: l.ContractID,
			LinkName:         l.LinkName,
			LinkValues:       l.Values,
		}
		if w.LinkValues == nil {
			w.LinkValues = map[string]string{}
		}
	}
	b, _ := json.Marshal(w) // strings, maps of strings and raw JSON we made always encode
	return b
}

// answer is one policy service's decoded decision.
type answer struct {
	permitted bool
	message   string
	ttl       time.Duration // valid when hasTTL
	hasTTL    bool
}

// change is a decoded message of the changes topic.
type change struct {
	requestID string
	permitted bool
	message   string
}

// decodeReply decodes a NATS policy service's answer, {"requestId", "permitted", "message", "ttl"},
// which must carry the id the question was asked under ("request_id" is accepted as well).
func decodeReply(data []byte, requestID string) (answer, error) {
	if len(data) > MaxResponseBytes {
		return answer{}, badResponse("answer exceeds "+strconv.Itoa(MaxResponseBytes)+" bytes", nil)
	}
	f, err := readObject(data)
	if err != nil {
		return answer{}, badResponse("answer does not decode: "+err.Error(), err)
	}
	id, err := f.requestID()
	if err != nil {
		return answer{}, badResponse("answer "+err.Error(), nil)
	}
	if id != requestID {
		return answer{}, badResponse("answer is for request "+quote(id)+", not this one", nil)
	}
	return f.decision("permitted", "answer")
}

// decodeOPA decodes an OPA data API response: {"result": true|false} for a boolean rule, or
// {"result": {"allow": true|false, "message": "…", "ttl": seconds}} for a package or object rule.
func decodeOPA(data []byte) (answer, error) {
	if len(data) > MaxResponseBytes {
		return answer{}, badResponse("OPA response exceeds "+strconv.Itoa(MaxResponseBytes)+" bytes", nil)
	}
	f, err := readObject(data)
	if err != nil {
		return answer{}, badResponse("OPA response does not decode: "+err.Error(), err)
	}
	raw, ok := f["result"]
	if !ok {
		return answer{}, badResponse("OPA response has no result (the document is undefined: check the endpoint's path and the policy's package)", nil)
	}
	switch string(raw) {
	case "true":
		return answer{permitted: true}, nil
	case "false":
		return answer{permitted: false}, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return answer{}, badResponse("OPA result is neither a boolean nor an object with a boolean allow", nil)
	}
	r, err := readObject(raw)
	if err != nil {
		return answer{}, badResponse("OPA result does not decode: "+err.Error(), err)
	}
	return r.decision("allow", "OPA result")
}

// decodeChange decodes a message of the changes topic: {"request_id"|"requestId", "permitted",
// "message"}, the OTP host's and wasmCloud 0.82's spellings.
func decodeChange(data []byte) (change, error) {
	if len(data) > MaxResponseBytes {
		return change{}, errors.New("change exceeds " + strconv.Itoa(MaxResponseBytes) + " bytes")
	}
	f, err := readObject(data)
	if err != nil {
		return change{}, errors.New("change does not decode: " + err.Error())
	}
	id, err := f.requestID()
	if err != nil {
		return change{}, errors.New("change " + err.Error())
	}
	a, err := f.decision("permitted", "change")
	if err != nil {
		return change{}, errors.New(strings.TrimPrefix(err.Error(), ErrBadResponse.Error()+": "))
	}
	return change{requestID: id, permitted: a.permitted, message: a.message}, nil
}

// fields are the members of one JSON object, matched by exact name.
type fields map[string]json.RawMessage

// readObject reads one JSON object and nothing after it, refusing duplicate member names (which
// encoding/json would resolve silently, last one wins).
func readObject(data []byte) (fields, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	f := fields{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object member has no name")
		}
		if _, dup := f[key]; dup {
			return nil, errors.New("duplicate member " + quote(key))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		f[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return f, nil
}

// requestID returns "requestId" or "request_id" (both present must agree).
func (f fields) requestID() (string, error) {
	camel, okC, err := f.str("requestId")
	if err != nil {
		return "", err
	}
	snake, okS, err := f.str("request_id")
	if err != nil {
		return "", err
	}
	switch {
	case okC && okS && camel != snake:
		return "", errors.New("has requestId " + quote(camel) + " and request_id " + quote(snake))
	case okC:
		return camel, nil
	case okS:
		return snake, nil
	}
	return "", errors.New("has no requestId")
}

// decision reads the boolean named allowKey (required), "message" (string or null) and "ttl"
// (seconds, a number >= 0, or null).
func (f fields) decision(allowKey, what string) (answer, error) {
	var a answer
	switch raw := string(f[allowKey]); raw {
	case "true":
		a.permitted = true
	case "false":
	case "":
		return answer{}, badResponse(what+" has no boolean "+allowKey, nil)
	default:
		return answer{}, badResponse(what+" has "+allowKey+" "+quote(raw)+", not a boolean", nil)
	}
	msg, _, err := f.str("message")
	if err != nil {
		return answer{}, badResponse(what+" "+err.Error(), nil)
	}
	a.message = cleanMessage(msg)
	if raw, ok := f["ttl"]; ok && string(raw) != "null" {
		secs, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || secs < 0 { // a JSON number that overflows float64 is an error too
			return answer{}, badResponse(what+" has ttl "+quote(string(raw))+", not a number of seconds >= 0", nil)
		}
		a.hasTTL = true
		if secs >= MaxTTL.Seconds() {
			a.ttl = MaxTTL
		} else {
			a.ttl = time.Duration(secs * float64(time.Second))
		}
	}
	return a, nil
}

// str returns the string member name; null or absent gives ok false, any other type an error.
func (f fields) str(name string) (s string, ok bool, err error) {
	raw, present := f[name]
	if !present || string(raw) == "null" {
		return "", false, nil
	}
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false, errors.New("has " + name + " " + quote(string(raw)) + ", not a string")
	}
	return s, true, nil
}

// cleanMessage keeps at most maxMessage bytes of valid UTF-8 of a policy service's message.
func cleanMessage(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// quote quotes at most 64 bytes of a value taken from an answer, for an error text.
func quote(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
