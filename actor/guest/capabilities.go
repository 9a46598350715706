package guest

import (
	"errors"
	"fmt"
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
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
	return c.do(contract.ContractKeyValue, op, payload)
}

func decodeStringList(b []byte) ([]string, error) {
	var l contract.StringList
	err := l.UnmarshalMsgpack(b)
	return l, err
}

func (c client) kvGet(key string) (value string, exists bool, err error) {
	reply, err := c.kv(contract.OpKeyValueGet, contract.AppendString(nil, key))
	r, err := decode(contract.OpKeyValueGet, reply, err, func(b []byte) (contract.GetResponse, error) {
		var r contract.GetResponse
		return r, r.UnmarshalMsgpack(b)
	})
	return r.Value, r.Exists, err
}

func (c client) kvSet(key, value string, expires uint32) error {
	r := contract.SetRequest{Key: key, Value: value, Expires: expires}
	_, err := c.kv(contract.OpKeyValueSet, r.AppendMsgpack(nil))
	return err
}

func (c client) kvBool(op, key string) (bool, error) {
	reply, err := c.kv(op, contract.AppendString(nil, key))
	return decode(op, reply, err, contract.UnmarshalBool)
}

func (c client) kvIncrement(key string, delta int32) (int32, error) {
	r := contract.IncrementRequest{Key: key, Value: delta}
	reply, err := c.kv(contract.OpKeyValueIncrement, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueIncrement, reply, err, contract.UnmarshalI32)
}

func (c client) kvListAdd(list, value string) (uint32, error) {
	r := contract.ListAddRequest{ListName: list, Value: value}
	reply, err := c.kv(contract.OpKeyValueListAdd, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueListAdd, reply, err, contract.UnmarshalU32)
}

func (c client) kvListDel(list, value string) (bool, error) {
	r := contract.ListDelRequest{ListName: list, Value: value}
	reply, err := c.kv(contract.OpKeyValueListDel, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueListDel, reply, err, contract.UnmarshalBool)
}

func (c client) kvListRange(list string, start, stop int32) ([]string, error) {
	r := contract.ListRangeRequest{ListName: list, Start: start, Stop: stop}
	reply, err := c.kv(contract.OpKeyValueListRange, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueListRange, reply, err, decodeStringList)
}

func (c client) kvSetAdd(set, value string) (uint32, error) {
	r := contract.SetAddRequest{SetName: set, Value: value}
	reply, err := c.kv(contract.OpKeyValueSetAdd, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueSetAdd, reply, err, contract.UnmarshalU32)
}

func (c client) kvSetDel(set, value string) (uint32, error) {
	r := contract.SetDelRequest{SetName: set, Value: value}
	reply, err := c.kv(contract.OpKeyValueSetDel, r.AppendMsgpack(nil))
	return decode(contract.OpKeyValueSetDel, reply, err, contract.UnmarshalU32)
}

func (c client) kvSetQuery(set string) ([]string, error) {
	reply, err := c.kv(contract.OpKeyValueSetQuery, contract.AppendString(nil, set))
	return decode(contract.OpKeyValueSetQuery, reply, err, decodeStringList)
}

// kvSets sends SetUnion or SetIntersection.
func (c client) kvSets(op string, sets []string) ([]string, error) {
	l := contract.StringList(sets)
	reply, err := c.kv(op, l.AppendMsgpack(nil))
	return decode(op, reply, err, decodeStringList)
}

func (c client) publish(subject, replyTo string, body []byte) error {
	m := contract.PubMessage{Subject: subject, ReplyTo: replyTo, Body: body}
	_, err := c.do(contract.ContractMessaging, contract.OpMessagingPublish, m.AppendMsgpack(nil))
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

func (c client) request(subject string, body []byte, timeout time.Duration) (contract.ReplyMessage, error) {
	m := contract.RequestMessage{Subject: subject, Body: body, TimeoutMs: timeoutMillis(timeout)}
	reply, err := c.do(contract.ContractMessaging, contract.OpMessagingRequest, m.AppendMsgpack(nil))
	return decode(contract.OpMessagingRequest, reply, err, func(b []byte) (contract.ReplyMessage, error) {
		var r contract.ReplyMessage
		return r, r.UnmarshalMsgpack(b)
	})
}

func (c client) writeLog(level, text string) error {
	e := contract.LogEntry{Level: level, Text: text}
	_, err := c.do(contract.ContractLogging, contract.OpLoggingWriteLog, e.AppendMsgpack(nil))
	return err
}

func (c client) generateGUID() (string, error) {
	reply, err := c.do(contract.ContractNumberGen, contract.OpNumberGenGenerateGuid, nil)
	return decode(contract.OpNumberGenGenerateGuid, reply, err, contract.UnmarshalString)
}

func (c client) random32() (uint32, error) {
	reply, err := c.do(contract.ContractNumberGen, contract.OpNumberGenRandom32, nil)
	return decode(contract.OpNumberGenRandom32, reply, err, contract.UnmarshalU32)
}

func (c client) randomInRange(lo, hi uint32) (uint32, error) {
	r := contract.RangeLimit{Min: lo, Max: hi}
	reply, err := c.do(contract.ContractNumberGen, contract.OpNumberGenRandomInRange, r.AppendMsgpack(nil))
	return decode(contract.OpNumberGenRandomInRange, reply, err, contract.UnmarshalU32)
}

// decodeSubMessage decodes the payload of MessageSubscriber.HandleMessage. Its body aliases b.
func decodeSubMessage(b []byte) (contract.SubMessage, error) {
	var m contract.SubMessage
	if err := m.UnmarshalMsgpack(b); err != nil {
		return m, fmt.Errorf("guest: %s payload: %w", contract.OpMessageSubscriberHandleMessage, err)
	}
	return m, nil
}
