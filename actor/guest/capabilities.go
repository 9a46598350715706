package guest

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/internal/iface"
)

// This file holds the platform-independent half of the typed capability helpers (KeyValue,
// Messaging, WriteLog and the numbergen functions in capabilities_wasip1.go): for each operation,
// the encoding of its payload and the decoding of its reply, around an injectable host call. The
// wasip1 half only binds them to HostCall, so everything here is tested on the host's platform with
// a fake host.

// ErrBadReply reports a host reply that does not decode as the operation's reply type. The text of
// the wrapped error names the operation and the field that was wrong.
var ErrBadReply = errors.New("guest: malformed reply from the host")

// defaultLink is the link name used when a helper is given none, as wasmCloud actors do.
const defaultLink = "default"

// caller is the signature of HostCall, so that tests can stand in for the host.
type caller func(binding, namespace, operation string, payload []byte) ([]byte, error)

// client issues the typed capability calls of one link through call.
type client struct {
	call caller
	link string
}

// do sends one call for contract and op on the client's link ("default" when empty).
func (c client) do(contract, op string, payload []byte) ([]byte, error) {
	link := c.link
	if link == "" {
		link = defaultLink
	}
	return c.call(link, contract, op, payload)
}

// decode turns a reply into a typed value, wrapping decoding errors with ErrBadReply and op.
func decode[T any](op string, reply []byte, err error, dec func([]byte) (T, error)) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	v, err := dec(reply)
	if err != nil {
		return zero, fmt.Errorf("%w to %s: %w", ErrBadReply, op, err)
	}
	return v, nil
}

// kv sends one wasmcloud:keyvalue call.
func (c client) kv(op string, payload []byte) ([]byte, error) {
	return c.do(iface.ContractKeyValue, op, payload)
}

func decodeStringList(b []byte) ([]string, error) {
	var l iface.StringList
	err := l.UnmarshalMsgpack(b)
	return l, err
}

func (c client) kvGet(key string) (value string, exists bool, err error) {
	reply, err := c.kv(iface.OpKeyValueGet, iface.AppendString(nil, key))
	r, err := decode(iface.OpKeyValueGet, reply, err, func(b []byte) (iface.GetResponse, error) {
		var r iface.GetResponse
		return r, r.UnmarshalMsgpack(b)
	})
	return r.Value, r.Exists, err
}

func (c client) kvSet(key, value string, expires uint32) error {
	r := iface.SetRequest{Key: key, Value: value, Expires: expires}
	_, err := c.kv(iface.OpKeyValueSet, r.AppendMsgpack(nil))
	return err
}

func (c client) kvBool(op, key string) (bool, error) {
	reply, err := c.kv(op, iface.AppendString(nil, key))
	return decode(op, reply, err, iface.UnmarshalBool)
}

func (c client) kvIncrement(key string, delta int32) (int32, error) {
	r := iface.IncrementRequest{Key: key, Value: delta}
	reply, err := c.kv(iface.OpKeyValueIncrement, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueIncrement, reply, err, iface.UnmarshalI32)
}

func (c client) kvListAdd(list, value string) (uint32, error) {
	r := iface.ListAddRequest{ListName: list, Value: value}
	reply, err := c.kv(iface.OpKeyValueListAdd, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueListAdd, reply, err, iface.UnmarshalU32)
}

func (c client) kvListDel(list, value string) (bool, error) {
	r := iface.ListDelRequest{ListName: list, Value: value}
	reply, err := c.kv(iface.OpKeyValueListDel, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueListDel, reply, err, iface.UnmarshalBool)
}

func (c client) kvListRange(list string, start, stop int32) ([]string, error) {
	r := iface.ListRangeRequest{ListName: list, Start: start, Stop: stop}
	reply, err := c.kv(iface.OpKeyValueListRange, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueListRange, reply, err, decodeStringList)
}

func (c client) kvSetAdd(set, value string) (uint32, error) {
	r := iface.SetAddRequest{SetName: set, Value: value}
	reply, err := c.kv(iface.OpKeyValueSetAdd, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueSetAdd, reply, err, iface.UnmarshalU32)
}

func (c client) kvSetDel(set, value string) (uint32, error) {
	r := iface.SetDelRequest{SetName: set, Value: value}
	reply, err := c.kv(iface.OpKeyValueSetDel, r.AppendMsgpack(nil))
	return decode(iface.OpKeyValueSetDel, reply, err, iface.UnmarshalU32)
}

func (c client) kvSetQuery(set string) ([]string, error) {
	reply, err := c.kv(iface.OpKeyValueSetQuery, iface.AppendString(nil, set))
	return decode(iface.OpKeyValueSetQuery, reply, err, decodeStringList)
}

// kvSets sends SetUnion or SetIntersection.
func (c client) kvSets(op string, sets []string) ([]string, error) {
	l := iface.StringList(sets)
	reply, err := c.kv(op, l.AppendMsgpack(nil))
	return decode(op, reply, err, decodeStringList)
}

func (c client) publish(subject, replyTo string, body []byte) error {
	m := iface.PubMessage{Subject: subject, ReplyTo: replyTo, Body: body}
	_, err := c.do(iface.ContractMessaging, iface.OpMessagingPublish, m.AppendMsgpack(nil))
	return err
}

// timeoutMillis converts a request timeout to the contract's milliseconds: 0 (the host's default)
// for none, at least 1 for a positive duration, and at most the u32 range.
func timeoutMillis(d time.Duration) uint32 {
	switch ms := d.Milliseconds(); {
	case d <= 0:
		return 0
	case ms < 1:
		return 1
	case ms > 1<<32-1:
		return 1<<32 - 1
	default:
		return uint32(ms)
	}
}

func (c client) request(subject string, body []byte, timeout time.Duration) (iface.ReplyMessage, error) {
	m := iface.RequestMessage{Subject: subject, Body: body, TimeoutMs: timeoutMillis(timeout)}
	reply, err := c.do(iface.ContractMessaging, iface.OpMessagingRequest, m.AppendMsgpack(nil))
	return decode(iface.OpMessagingRequest, reply, err, func(b []byte) (iface.ReplyMessage, error) {
		var r iface.ReplyMessage
		return r, r.UnmarshalMsgpack(b)
	})
}

func (c client) writeLog(level, text string) error {
	e := iface.LogEntry{Level: level, Text: text}
	_, err := c.do(iface.ContractLogging, iface.OpLoggingWriteLog, e.AppendMsgpack(nil))
	return err
}

func (c client) generateGUID() (string, error) {
	reply, err := c.do(iface.ContractNumberGen, iface.OpNumberGenGenerateGuid, nil)
	return decode(iface.OpNumberGenGenerateGuid, reply, err, iface.UnmarshalString)
}

func (c client) random32() (uint32, error) {
	reply, err := c.do(iface.ContractNumberGen, iface.OpNumberGenRandom32, nil)
	return decode(iface.OpNumberGenRandom32, reply, err, iface.UnmarshalU32)
}

func (c client) randomInRange(lo, hi uint32) (uint32, error) {
	r := iface.RangeLimit{Min: lo, Max: hi}
	reply, err := c.do(iface.ContractNumberGen, iface.OpNumberGenRandomInRange, r.AppendMsgpack(nil))
	return decode(iface.OpNumberGenRandomInRange, reply, err, iface.UnmarshalU32)
}

// decodeSubMessage decodes the payload of MessageSubscriber.HandleMessage. Its body aliases b.
func decodeSubMessage(b []byte) (iface.SubMessage, error) {
	var m iface.SubMessage
	if err := m.UnmarshalMsgpack(b); err != nil {
		return m, fmt.Errorf("guest: %s payload: %w", iface.OpMessageSubscriberHandleMessage, err)
	}
	return m, nil
}
