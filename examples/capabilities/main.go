//go:build wasip1

// Command capabilities is an example actor that uses every capability this host provides itself —
// logging, numbergen, key-value and messaging — through the typed helpers of actor/guest. It shows
// what an actor needs for each (a claim, and for key-value and messaging a link) and gives the
// host's tests one actor that exercises all of them. Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o capabilities.wasm ./examples/capabilities
//
// Its claims must list wasmcloud:builtin:logging, wasmcloud:builtin:numbergen, wasmcloud:keyvalue
// and wasmcloud:messaging. Operations (payloads and replies are MessagePack maps; string values may
// also be sent as bin; an empty payload counts as an empty map):
//
//	Caps.Log      {"level", "text"}   ->  {"ok": true}        Logging.WriteLog (no level: info)
//	Caps.Numbers  {}                  ->  {"guid": <36-char UUID>, "random": <u32>, "in_range": <10..20>}
//	Caps.KV       {"key"}             ->  every keyvalue operation, see runKV (no key: "example")
//	Caps.Get      {"key"}             ->  {"exists": bool, "value": str}
//	Caps.Set      {"key", "value"}    ->  {"ok": true}
//	Caps.Publish  {"subject", "body"} ->  {"ok": true}        Messaging.Publish
//	Caps.Request  {"subject", "body"} ->  {"body": <reply>}   Messaging.Request, 5 s timeout
//	Caps.Call     {"contract", "operation", "body", "link"} -> {"reply": <the provider's reply>}
//	              any linked provider: the reply is embedded as it is when it is one MessagePack value,
//	              as a bin otherwise (no link: "default")
//	Caps.CallBack {"contract", "actor", "operation", "name"} -> {"reply": …}  the provider's Echo.CallBack,
//	              which invokes the actor's operation with {"name"} (the tests' provider)
//	Caps.Fetch    {"url", "method"}   ->  {"status": <u32>, "body": str}  wasmcloud:httpclient
//	MessageSubscriber.HandleMessage   a message with a reply subject is answered with "echo: " + body
//
// A refusal or failure of the host (a missing claim or link, a subject the link does not allow, an
// empty key) becomes a guest error that names the operation and includes the host's text.
package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/tinylib/msgp/msgp"
	"github.com/wasmcloud-host/wasmcloud-host/actor/guest"
	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// requestTimeout bounds Caps.Request; the host may cap it further (at WASMCLOUD_RPC_TIMEOUT_MS).
const requestTimeout = 5 * time.Second

// defaultKey is the key Caps.KV uses when the payload names none.
const defaultKey = "example"

// kv and messaging use the links named "default".
var (
	kv        guest.KeyValue
	messaging guest.Messaging
)

func init() {
	guest.Handle("Caps.Log", writeLog)
	guest.Handle("Caps.Numbers", numbers)
	guest.Handle("Caps.KV", keyValue)
	guest.Handle("Caps.Get", get)
	guest.Handle("Caps.Set", set)
	guest.Handle("Caps.Publish", publish)
	guest.Handle("Caps.Request", request)
	guest.Handle("Caps.Call", callProvider)
	guest.Handle("Caps.CallBack", callBack)
	guest.Handle("Caps.Fetch", fetch)
	guest.HandleMessages(echo)
}

// main is never called: a -buildmode=c-shared module only runs its init functions.
func main() {}

// writeLog answers Caps.Log.
func writeLog(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "level", "text")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Log payload: %w", err)
	}
	if err := guest.WriteLog(f["level"], f["text"]); err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Log: %w", err)
	}
	return ok(), nil
}

// numbers answers Caps.Numbers.
func numbers([]byte) ([]byte, error) {
	guid, err := guest.GenerateGUID()
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Numbers: GenerateGuid: %w", err)
	}
	random, err := guest.Random32()
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Numbers: Random32: %w", err)
	}
	inRange, err := guest.RandomInRange(10, 20)
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Numbers: RandomInRange: %w", err)
	}
	var r reply
	r.str("guid", guid)
	r.u32("random", random)
	r.u32("in_range", inRange)
	return r.bytes(), nil
}

// keyValue answers Caps.KV.
func keyValue(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "key")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.KV payload: %w", err)
	}
	key := f["key"]
	if key == "" {
		key = defaultKey
	}
	out, err := runKV(key)
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.KV: %w", err)
	}
	return out, nil
}

// runKV runs every keyvalue operation on key and on the list key+":list" and the sets key+":set1"
// and key+":set2", and replies what each returned. It first deletes the list and the sets and it
// leaves nothing behind, so every run on a fresh or a previously used key replies exactly:
//
//	"get": "40", "get_exists": true       Set(key, "40"), then Get(key)
//	"contains": true                      Contains(key)
//	"increment": [41, 42]                 Increment(key, 1) twice
//	"del": true                           Del(key)
//	"contains_after_del": false           Contains(key)
//	"list_add": [1, 2, 3]                 ListAdd of "one", "two", "three"
//	"list_range": ["one", "two", "three"] ListRange(list, 0, -1)
//	"list_del": true                      ListDel(list, "two")
//	"list_clear": true                    ListClear(list)
//	"set_add": [1, 1, 0]                  SetAdd(set1, ...) of "apple", "banana", "apple"
//	"set_query": ["apple", "banana"]      SetQuery(set1)
//	"set_add_other": [1, 1, 1]            SetAdd(set2, ...) of "banana", "cherry", "durian"
//	"set_del": 1                          SetDel(set2, "durian")
//	"set_union": ["apple", "banana", "cherry"]  SetUnion(set1, set2)
//	"set_intersection": ["banana"]        SetIntersection(set1, set2)
//	"set_clear": [true, true]             SetClear(set1), SetClear(set2)
func runKV(key string) ([]byte, error) {
	list, set1, set2 := key+":list", key+":set1", key+":set2"
	for _, k := range []string{list, set1, set2} {
		if _, err := kv.Del(k); err != nil {
			return nil, fmt.Errorf("Del %q: %w", k, err)
		}
	}
	var r reply

	if err := kv.Set(key, "40", 0); err != nil {
		return nil, fmt.Errorf("Set %q: %w", key, err)
	}
	value, exists, err := kv.Get(key)
	if err != nil {
		return nil, fmt.Errorf("Get %q: %w", key, err)
	}
	r.str("get", value)
	r.boolean("get_exists", exists)
	contains, err := kv.Contains(key)
	if err != nil {
		return nil, fmt.Errorf("Contains %q: %w", key, err)
	}
	r.boolean("contains", contains)
	var counts []int32
	for range 2 {
		n, err := kv.Increment(key, 1)
		if err != nil {
			return nil, fmt.Errorf("Increment %q: %w", key, err)
		}
		counts = append(counts, n)
	}
	r.i32s("increment", counts)
	deleted, err := kv.Del(key)
	if err != nil {
		return nil, fmt.Errorf("Del %q: %w", key, err)
	}
	r.boolean("del", deleted)
	if contains, err = kv.Contains(key); err != nil {
		return nil, fmt.Errorf("Contains %q: %w", key, err)
	}
	r.boolean("contains_after_del", contains)

	var lengths []uint32
	for _, v := range []string{"one", "two", "three"} {
		n, err := kv.ListAdd(list, v)
		if err != nil {
			return nil, fmt.Errorf("ListAdd %q: %w", list, err)
		}
		lengths = append(lengths, n)
	}
	r.u32s("list_add", lengths)
	values, err := kv.ListRange(list, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("ListRange %q: %w", list, err)
	}
	r.strs("list_range", values)
	found, err := kv.ListDel(list, "two")
	if err != nil {
		return nil, fmt.Errorf("ListDel %q: %w", list, err)
	}
	r.boolean("list_del", found)
	existed, err := kv.ListClear(list)
	if err != nil {
		return nil, fmt.Errorf("ListClear %q: %w", list, err)
	}
	r.boolean("list_clear", existed)

	add := func(name string, members ...string) ([]uint32, error) {
		var added []uint32
		for _, m := range members {
			n, err := kv.SetAdd(name, m)
			if err != nil {
				return nil, fmt.Errorf("SetAdd %q: %w", name, err)
			}
			added = append(added, n)
		}
		return added, nil
	}
	added, err := add(set1, "apple", "banana", "apple")
	if err != nil {
		return nil, err
	}
	r.u32s("set_add", added)
	members, err := kv.SetQuery(set1)
	if err != nil {
		return nil, fmt.Errorf("SetQuery %q: %w", set1, err)
	}
	r.strs("set_query", members)
	if added, err = add(set2, "banana", "cherry", "durian"); err != nil {
		return nil, err
	}
	r.u32s("set_add_other", added)
	removed, err := kv.SetDel(set2, "durian")
	if err != nil {
		return nil, fmt.Errorf("SetDel %q: %w", set2, err)
	}
	r.u32("set_del", removed)
	union, err := kv.SetUnion(set1, set2)
	if err != nil {
		return nil, fmt.Errorf("SetUnion: %w", err)
	}
	r.strs("set_union", union)
	inter, err := kv.SetIntersection(set1, set2)
	if err != nil {
		return nil, fmt.Errorf("SetIntersection: %w", err)
	}
	r.strs("set_intersection", inter)
	var cleared []bool
	for _, name := range []string{set1, set2} {
		existed, err := kv.SetClear(name)
		if err != nil {
			return nil, fmt.Errorf("SetClear %q: %w", name, err)
		}
		cleared = append(cleared, existed)
	}
	r.bools("set_clear", cleared)
	return r.bytes(), nil
}

// get answers Caps.Get.
func get(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "key")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Get payload: %w", err)
	}
	value, exists, err := kv.Get(f["key"])
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Get %q: %w", f["key"], err)
	}
	var r reply
	r.boolean("exists", exists)
	r.str("value", value)
	return r.bytes(), nil
}

// set answers Caps.Set.
func set(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "key", "value")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Set payload: %w", err)
	}
	if err := kv.Set(f["key"], f["value"], 0); err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Set %q: %w", f["key"], err)
	}
	return ok(), nil
}

// publish answers Caps.Publish.
func publish(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "subject", "body")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Publish payload: %w", err)
	}
	if err := messaging.Publish(f["subject"], "", []byte(f["body"])); err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Publish to %q: %w", f["subject"], err)
	}
	return ok(), nil
}

// request answers Caps.Request.
func request(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "subject", "body")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Request payload: %w", err)
	}
	m, err := messaging.Request(f["subject"], []byte(f["body"]), requestTimeout)
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Request to %q: %w", f["subject"], err)
	}
	var r reply
	r.str("body", string(m.Body))
	return r.bytes(), nil
}

// echo handles the messages of the actor's subscriptions: a request is answered with "echo: " and
// its body; a message without a reply subject is ignored.
func echo(m guest.Message) error {
	if m.ReplyTo == "" {
		return nil
	}
	if err := messaging.Publish(m.ReplyTo, "", append([]byte("echo: "), m.Body...)); err != nil {
		return fmt.Errorf("capabilities: answer the message on %q: %w", m.Subject, err)
	}
	return nil
}

// ok is the reply {"ok": true}.
// callProvider answers Caps.Call.
func callProvider(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "contract", "operation", "body", "link")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Call payload: %w", err)
	}
	out, err := guest.HostCall(f["link"], f["contract"], f["operation"], []byte(f["body"]))
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Call %s %s: %w", f["contract"], f["operation"], err)
	}
	return embed(out), nil
}

// callBack answers Caps.CallBack.
func callBack(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "contract", "actor", "operation", "name")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.CallBack payload: %w", err)
	}
	body := msgp.AppendMapHeader(nil, 1)
	body = msgp.AppendString(body, "name")
	body = msgp.AppendString(body, f["name"])
	req := msgp.AppendMapHeader(nil, 3)
	req = msgp.AppendString(req, "actor")
	req = msgp.AppendString(req, f["actor"])
	req = msgp.AppendString(req, "operation")
	req = msgp.AppendString(req, f["operation"])
	req = msgp.AppendString(req, "body")
	req = msgp.AppendBytes(req, body)
	out, err := guest.HostCall("", f["contract"], "Echo.CallBack", req)
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.CallBack: %w", err)
	}
	return embed(out), nil
}

// embed returns {"reply": v}: v as it is when it is one MessagePack value, as a bin otherwise.
func embed(v []byte) []byte {
	b := msgp.AppendMapHeader(nil, 1)
	b = msgp.AppendString(b, "reply")
	if rest, err := msgp.Skip(v); len(v) > 0 && err == nil && len(rest) == 0 {
		return append(b, v...)
	}
	return msgp.AppendBytes(b, v)
}

// fetch answers Caps.Fetch.
func fetch(payload []byte) ([]byte, error) {
	f, err := decodeFields(payload, "url", "method")
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Fetch payload: %w", err)
	}
	req := contract.HTTPClientRequest{Method: f["method"], URL: f["url"], Headers: map[string][]string{}}
	out, err := guest.HostCall("", contract.ContractHTTPClient, contract.OpHTTPClientRequest, req.AppendMsgpack(nil))
	if err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Fetch %s: %w", f["url"], err)
	}
	var resp contract.HTTPResponse
	if err := resp.UnmarshalMsgpack(out); err != nil {
		return nil, fmt.Errorf("capabilities: Caps.Fetch reply: %w", err)
	}
	var r reply
	r.u32("status", uint32(resp.StatusCode))
	r.str("body", string(resp.Body))
	return r.bytes(), nil
}

func ok() []byte {
	var r reply
	r.boolean("ok", true)
	return r.bytes()
}

// reply builds a MessagePack map whose size is known only at the end.
type reply struct {
	n    uint32
	body []byte
}

func (r *reply) key(k string) { r.n++; r.body = msgp.AppendString(r.body, k) }

func (r *reply) str(k, v string)          { r.key(k); r.body = msgp.AppendString(r.body, v) }
func (r *reply) boolean(k string, v bool) { r.key(k); r.body = msgp.AppendBool(r.body, v) }
func (r *reply) u32(k string, v uint32)   { r.key(k); r.body = msgp.AppendUint32(r.body, v) }

func (r *reply) strs(k string, vs []string) {
	r.key(k)
	r.body = msgp.AppendArrayHeader(r.body, uint32(len(vs)))
	for _, v := range vs {
		r.body = msgp.AppendString(r.body, v)
	}
}

func (r *reply) u32s(k string, vs []uint32) {
	r.key(k)
	r.body = msgp.AppendArrayHeader(r.body, uint32(len(vs)))
	for _, v := range vs {
		r.body = msgp.AppendUint32(r.body, v)
	}
}

func (r *reply) i32s(k string, vs []int32) {
	r.key(k)
	r.body = msgp.AppendArrayHeader(r.body, uint32(len(vs)))
	for _, v := range vs {
		r.body = msgp.AppendInt32(r.body, v)
	}
}

func (r *reply) bools(k string, vs []bool) {
	r.key(k)
	r.body = msgp.AppendArrayHeader(r.body, uint32(len(vs)))
	for _, v := range vs {
		r.body = msgp.AppendBool(r.body, v)
	}
}

// bytes returns the map.
func (r *reply) bytes() []byte { return append(msgp.AppendMapHeader(nil, r.n), r.body...) }

// decodeFields reads a MessagePack map and returns the values of the wanted keys that are present,
// each a str or a bin, skipping every other key. An empty payload is an empty map.
func decodeFields(b []byte, want ...string) (map[string]string, error) {
	out := make(map[string]string, len(want))
	if len(b) == 0 {
		return out, nil
	}
	n, rest, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("want a map: %w", err)
	}
	for range n {
		var key []byte
		if key, rest, err = msgp.ReadMapKeyZC(rest); err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		wanted := false
		for _, w := range want {
			wanted = wanted || string(key) == w
		}
		if !wanted {
			if rest, err = msgp.Skip(rest); err != nil {
				return nil, fmt.Errorf("value of %q: %w", key, err)
			}
			continue
		}
		if _, dup := out[string(key)]; dup {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		var v []byte
		switch msgp.NextType(rest) {
		case msgp.StrType:
			v, rest, err = msgp.ReadStringZC(rest)
		case msgp.BinType:
			v, rest, err = msgp.ReadBytesZC(rest)
		default:
			err = fmt.Errorf("want a str or bin, got %s", msgp.NextType(rest))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out[string(key)] = string(v)
	}
	if len(rest) != 0 {
		return nil, errors.New("trailing bytes after the map")
	}
	return out, nil
}
