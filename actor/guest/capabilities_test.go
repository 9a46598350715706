package guest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// fakeHost stands in for HostCall: it records the one call it expects and answers with reply or err.
type fakeHost struct {
	reply []byte
	err   error

	called                 bool
	binding, namespace, op string
	payload                []byte
}

func (f *fakeHost) call(binding, namespace, operation string, payload []byte) ([]byte, error) {
	f.called = true
	f.binding, f.namespace, f.op, f.payload = binding, namespace, operation, bytes.Clone(payload)
	return f.reply, f.err
}

// encoded returns what v's AppendMsgpack writes.
func encoded(v interface{ AppendMsgpack([]byte) []byte }) []byte { return v.AppendMsgpack(nil) }

func TestCapabilityCalls(t *testing.T) {
	list := contract.StringList{"a", "b"}
	tests := []struct {
		name        string
		link        string
		call        func(c client) (any, error)
		wantBinding string
		wantNS      string
		wantOp      string
		wantPayload []byte
		reply       []byte
		want        any
	}{
		{name: "Get", call: func(c client) (any, error) {
			v, ok, err := c.kvGet("k")
			return fmt.Sprintf("%q %v", v, ok), err
		}, wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Get", wantPayload: []byte("\xa1k"),
			reply: encoded(&contract.GetResponse{Value: "v", Exists: true}), want: `"v" true`},
		{name: "Get on another link", link: "cache", call: func(c client) (any, error) {
			v, ok, err := c.kvGet("k")
			return fmt.Sprintf("%q %v", v, ok), err
		}, wantBinding: "cache", wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Get", wantPayload: []byte("\xa1k"),
			reply: []byte{0x80}, want: `"" false`},
		{name: "Set", call: func(c client) (any, error) { return nil, c.kvSet("k", "v", 7) },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Set",
			wantPayload: encoded(&contract.SetRequest{Key: "k", Value: "v", Expires: 7})},
		{name: "Del", call: func(c client) (any, error) { return c.kvBool(contract.OpKeyValueDel, "k") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Del", wantPayload: []byte("\xa1k"), reply: []byte{0xc3}, want: true},
		{name: "Contains", call: func(c client) (any, error) { return c.kvBool(contract.OpKeyValueContains, "k") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Contains", wantPayload: []byte("\xa1k"), reply: []byte{0xc2}, want: false},
		{name: "Increment", call: func(c client) (any, error) { return c.kvIncrement("n", -3) },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.Increment",
			wantPayload: encoded(&contract.IncrementRequest{Key: "n", Value: -3}), reply: []byte{0xd0, 0xd6}, want: int32(-42)},
		{name: "ListAdd", call: func(c client) (any, error) { return c.kvListAdd("l", "v") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.ListAdd",
			wantPayload: encoded(&contract.ListAddRequest{ListName: "l", Value: "v"}), reply: []byte{0x03}, want: uint32(3)},
		{name: "ListDel", call: func(c client) (any, error) { return c.kvListDel("l", "v") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.ListDel",
			wantPayload: encoded(&contract.ListDelRequest{ListName: "l", Value: "v"}), reply: []byte{0xc3}, want: true},
		{name: "ListRange", call: func(c client) (any, error) { return c.kvListRange("l", 0, -1) },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.ListRange",
			wantPayload: encoded(&contract.ListRangeRequest{ListName: "l", Start: 0, Stop: -1}),
			reply:       encoded(&list), want: []string{"a", "b"}},
		{name: "ListRange empty", call: func(c client) (any, error) { return c.kvListRange("l", 5, 9) },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.ListRange",
			wantPayload: encoded(&contract.ListRangeRequest{ListName: "l", Start: 5, Stop: 9}), reply: []byte{0x90}, want: []string(nil)},
		{name: "ListClear", call: func(c client) (any, error) { return c.kvBool(contract.OpKeyValueListClear, "l") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.ListClear", wantPayload: []byte("\xa1l"), reply: []byte{0xc3}, want: true},
		{name: "SetAdd", call: func(c client) (any, error) { return c.kvSetAdd("s", "v") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetAdd",
			wantPayload: encoded(&contract.SetAddRequest{SetName: "s", Value: "v"}), reply: []byte{0x01}, want: uint32(1)},
		{name: "SetDel", call: func(c client) (any, error) { return c.kvSetDel("s", "v") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetDel",
			wantPayload: encoded(&contract.SetDelRequest{SetName: "s", Value: "v"}), reply: []byte{0x00}, want: uint32(0)},
		{name: "SetQuery", call: func(c client) (any, error) { return c.kvSetQuery("s") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetQuery", wantPayload: []byte("\xa1s"),
			reply: encoded(&list), want: []string{"a", "b"}},
		{name: "SetUnion", call: func(c client) (any, error) { return c.kvSets(contract.OpKeyValueSetUnion, []string{"s", "t"}) },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetUnion", wantPayload: []byte("\x92\xa1s\xa1t"),
			reply: encoded(&list), want: []string{"a", "b"}},
		{name: "SetIntersection", call: func(c client) (any, error) {
			return c.kvSets(contract.OpKeyValueSetIntersection, []string{"s"})
		}, wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetIntersection", wantPayload: []byte("\x91\xa1s"),
			reply: []byte{0x90}, want: []string(nil)},
		{name: "SetClear", call: func(c client) (any, error) { return c.kvBool(contract.OpKeyValueSetClear, "s") },
			wantNS: contract.ContractKeyValue, wantOp: "KeyValue.SetClear", wantPayload: []byte("\xa1s"), reply: []byte{0xc2}, want: false},
		{name: "Publish", call: func(c client) (any, error) { return nil, c.publish("a.b", "", []byte("hi")) },
			wantNS: contract.ContractMessaging, wantOp: "Messaging.Publish",
			wantPayload: encoded(&contract.PubMessage{Subject: "a.b", Body: []byte("hi")})},
		{name: "Publish with a reply subject", call: func(c client) (any, error) { return nil, c.publish("a.b", "r.1", nil) },
			wantNS: contract.ContractMessaging, wantOp: "Messaging.Publish",
			wantPayload: encoded(&contract.PubMessage{Subject: "a.b", ReplyTo: "r.1"})},
		{name: "Request", call: func(c client) (any, error) {
			m, err := c.request("svc", []byte("ping"), 1500*time.Millisecond)
			return fmt.Sprintf("%s|%s|%s", m.Subject, m.ReplyTo, m.Body), err
		}, wantNS: contract.ContractMessaging, wantOp: "Messaging.Request",
			wantPayload: encoded(&contract.RequestMessage{Subject: "svc", Body: []byte("ping"), TimeoutMs: 1500}),
			reply:       encoded(&contract.ReplyMessage{Subject: "_INBOX.x", Body: []byte("pong")}), want: "_INBOX.x||pong"},
		{name: "WriteLog", call: func(c client) (any, error) { return nil, c.writeLog("warn", "careful") },
			wantNS: contract.ContractLogging, wantOp: "Logging.WriteLog",
			wantPayload: encoded(&contract.LogEntry{Level: "warn", Text: "careful"})},
		{name: "GenerateGuid", call: func(c client) (any, error) { return c.generateGUID() },
			wantNS: contract.ContractNumberGen, wantOp: "NumberGen.GenerateGuid",
			reply: []byte("\xa4abcd"), want: "abcd"},
		{name: "Random32", call: func(c client) (any, error) { return c.random32() },
			wantNS: contract.ContractNumberGen, wantOp: "NumberGen.Random32",
			reply: []byte{0xce, 0xff, 0xff, 0xff, 0xff}, want: uint32(math.MaxUint32)},
		{name: "RandomInRange", call: func(c client) (any, error) { return c.randomInRange(10, 20) },
			wantNS: contract.ContractNumberGen, wantOp: "NumberGen.RandomInRange",
			wantPayload: encoded(&contract.RangeLimit{Min: 10, Max: 20}), reply: []byte{0x0c}, want: uint32(12)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeHost{reply: tt.reply}
			got, err := tt.call(client{call: f.call, link: tt.link})
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			wantBinding := tt.wantBinding
			if wantBinding == "" {
				wantBinding = "default"
			}
			if !f.called || f.binding != wantBinding || f.namespace != tt.wantNS || f.op != tt.wantOp {
				t.Errorf("host call (%q, %q, %q), want (%q, %q, %q)", f.binding, f.namespace, f.op, wantBinding, tt.wantNS, tt.wantOp)
			}
			if !bytes.Equal(f.payload, tt.wantPayload) {
				t.Errorf("payload %x, want %x", f.payload, tt.wantPayload)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result %#v, want %#v", got, tt.want)
			}
		})
	}
}

var errRefused = errors.New("host: actor's claims do not list the capability wasmcloud:keyvalue")

func TestCapabilityCallErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply []byte
		err   error
		call  func(c client) error
		is    error
		msg   string
	}{
		{name: "host error passes through", err: errRefused,
			call: func(c client) error { _, _, err := c.kvGet("k"); return err }, is: errRefused, msg: errRefused.Error()},
		{name: "host error on a call without a reply", err: errRefused,
			call: func(c client) error { return c.kvSet("k", "v", 0) }, is: errRefused, msg: errRefused.Error()},
		{name: "wrong reply type", reply: []byte{0xc3},
			call: func(c client) error { _, err := c.kvIncrement("k", 1); return err }, is: ErrBadReply,
			msg: "guest: malformed reply from the host to KeyValue.Increment: contract: decode i32: want int, got bool"},
		{name: "trailing bytes", reply: []byte{0xc3, 0xc3},
			call: func(c client) error { _, err := c.kvBool(contract.OpKeyValueDel, "k"); return err }, is: ErrBadReply,
			msg: "guest: malformed reply from the host to KeyValue.Del: contract: decode bool: 1 trailing bytes after the top-level value"},
		{name: "empty reply", reply: nil,
			call: func(c client) error { _, err := c.generateGUID(); return err }, is: ErrBadReply,
			msg: "guest: malformed reply from the host to NumberGen.GenerateGuid: contract: decode string: truncated input"},
		{name: "reply message that is not a map", reply: []byte{0x01},
			call: func(c client) error { _, err := c.request("s", nil, 0); return err }, is: ErrBadReply,
			msg: "guest: malformed reply from the host to Messaging.Request: contract: decode ReplyMessage: top level is int, want map"},
		{name: "list holding a number", reply: []byte{0x91, 0x01},
			call: func(c client) error { _, err := c.kvSetQuery("s"); return err }, is: ErrBadReply,
			msg: "guest: malformed reply from the host to KeyValue.SetQuery: contract: decode StringList: field \"[0]\": want str, got int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeHost{reply: tt.reply, err: tt.err}
			err := tt.call(client{call: f.call})
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v does not match %v", err, tt.is)
			}
			if err.Error() != tt.msg {
				t.Errorf("error text:\n got %q\nwant %q", err, tt.msg)
			}
		})
	}
}

func TestTimeoutMillis(t *testing.T) {
	tests := []struct {
		name string
		in   time.Duration
		want uint32
	}{
		{name: "zero is the host's default", in: 0, want: 0},
		{name: "negative is the host's default", in: -time.Second, want: 0},
		{name: "below a millisecond rounds up", in: time.Microsecond, want: 1},
		{name: "milliseconds", in: 2500 * time.Millisecond, want: 2500},
		{name: "beyond the u32 range", in: 2000 * time.Hour, want: math.MaxUint32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := timeoutMillis(tt.in); got != tt.want {
				t.Errorf("timeoutMillis(%v) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeSubMessage(t *testing.T) {
	m, err := decodeSubMessage(encoded(&contract.SubMessage{Subject: "demo.echo", ReplyTo: "_INBOX.1", Body: []byte("hi")}))
	if err != nil || m.Subject != "demo.echo" || m.ReplyTo != "_INBOX.1" || string(m.Body) != "hi" {
		t.Fatalf("got %+v, %v", m, err)
	}
	_, err = decodeSubMessage([]byte{0x81, 0xa7, 's', 'u', 'b', 'j', 'e', 'c', 't', 0x01})
	const want = `guest: MessageSubscriber.HandleMessage payload: contract: decode SubMessage: field "subject": want str, got int`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}
