//go:build wasip1

package guest

import (
	"time"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// The typed helpers below wrap HostCall for the capability contracts a wasmCloud 0.x host provides
// itself, so that an actor needs neither the contracts' MessagePack encodings nor their operation
// names. Each helper returns the host's refusal (a missing claim, a missing link, a subject the link
// does not allow) as the *HostError HostCall returns, and a reply that does not decode as an error
// matching ErrBadReply.

// KeyValue calls the wasmcloud:keyvalue contract through the link named Link ("default" when
// empty). The zero value is ready to use. The actor's claims must list wasmcloud:keyvalue and the
// actor must be linked to a key-value provider; with this host's built-in provider, every key,
// list name and set name is confined to the link's bucket and prefix.
type KeyValue struct {
	// Link is the link name; empty means "default".
	Link string
}

func (kv KeyValue) client() client { return client{call: HostCall, link: kv.Link} }

// Get returns the value stored under key, and whether there is one.
func (kv KeyValue) Get(key string) (value string, exists bool, err error) {
	return kv.client().kvGet(key)
}

// Set stores value under key. When expires is not zero the value expires after that many seconds.
func (kv KeyValue) Set(key, value string, expires uint32) error {
	return kv.client().kvSet(key, value, expires)
}

// Del deletes key and reports whether it held a value.
func (kv KeyValue) Del(key string) (bool, error) {
	return kv.client().kvBool(contract.OpKeyValueDel, key)
}

// Contains reports whether key holds a value.
func (kv KeyValue) Contains(key string) (bool, error) {
	return kv.client().kvBool(contract.OpKeyValueContains, key)
}

// Increment adds delta (which may be negative) to the integer stored under key, an absent key
// counting as 0, and returns the new value.
func (kv KeyValue) Increment(key string, delta int32) (int32, error) {
	return kv.client().kvIncrement(key, delta)
}

// ListAdd appends value to the list named list and returns the list's new length.
func (kv KeyValue) ListAdd(list, value string) (uint32, error) {
	return kv.client().kvListAdd(list, value)
}

// ListDel removes the first occurrence of value from the list and reports whether it was found.
func (kv KeyValue) ListDel(list, value string) (bool, error) {
	return kv.client().kvListDel(list, value)
}

// ListRange returns the values of the list from index start to index stop, both inclusive; a
// negative index counts from the end, so (0, -1) is the whole list.
func (kv KeyValue) ListRange(list string, start, stop int32) ([]string, error) {
	return kv.client().kvListRange(list, start, stop)
}

// ListClear deletes the list and reports whether it existed.
func (kv KeyValue) ListClear(list string) (bool, error) {
	return kv.client().kvBool(contract.OpKeyValueListClear, list)
}

// SetAdd adds value to the set named set and returns how many values were added (0 when it was
// already a member, otherwise 1).
func (kv KeyValue) SetAdd(set, value string) (uint32, error) { return kv.client().kvSetAdd(set, value) }

// SetDel removes value from the set and returns how many values were removed (0 or 1).
func (kv KeyValue) SetDel(set, value string) (uint32, error) { return kv.client().kvSetDel(set, value) }

// SetQuery returns the members of the set.
func (kv KeyValue) SetQuery(set string) ([]string, error) { return kv.client().kvSetQuery(set) }

// SetUnion returns the values that are members of at least one of the sets.
func (kv KeyValue) SetUnion(sets ...string) ([]string, error) {
	return kv.client().kvSets(contract.OpKeyValueSetUnion, sets)
}

// SetIntersection returns the values that are members of every one of the sets.
func (kv KeyValue) SetIntersection(sets ...string) ([]string, error) {
	return kv.client().kvSets(contract.OpKeyValueSetIntersection, sets)
}

// SetClear deletes the set and reports whether it existed.
func (kv KeyValue) SetClear(set string) (bool, error) {
	return kv.client().kvBool(contract.OpKeyValueSetClear, set)
}

// Messaging calls the wasmcloud:messaging contract through the link named Link ("default" when
// empty). The zero value is ready to use. The actor's claims must list wasmcloud:messaging and the
// actor must be linked to a messaging provider, which decides which subjects it may use (this host's
// built-in provider: the link's "publish" patterns).
type Messaging struct {
	// Link is the link name; empty means "default".
	Link string
}

func (m Messaging) client() client { return client{call: HostCall, link: m.Link} }

// Publish sends body on subject. replyTo, when not empty, is the subject the receivers are asked to
// answer on.
func (m Messaging) Publish(subject, replyTo string, body []byte) error {
	return m.client().publish(subject, replyTo, body)
}

// Request sends body on subject and waits up to timeout for one answer (0 or less: the host's
// default; hosts may also cap it). The call blocks the instance until the answer or the timeout.
func (m Messaging) Request(subject string, body []byte, timeout time.Duration) (Message, error) {
	r, err := m.client().request(subject, body, timeout)
	return Message{Subject: r.Subject, ReplyTo: r.ReplyTo, Body: r.Body}, err
}

// Message is a message of the messaging contract: one delivered to the actor (see HandleMessages),
// or the answer to a Request.
type Message struct {
	// Subject is the subject the message was sent on.
	Subject string
	// ReplyTo is the subject the sender expects an answer on, or empty for none.
	ReplyTo string
	// Body is the payload.
	Body []byte
}

// HandleMessages registers h as the actor's MessageSubscriber.HandleMessage handler: the messages
// of the subjects its messaging link subscribes to. To answer a request, publish to msg.ReplyTo.
// An error from h is reported to the host, which logs it; the sender gets no answer. Call it from
// an init function, like Handle. The actor's claims must list wasmcloud:messaging, or the host does
// not deliver the messages.
func HandleMessages(h func(msg Message) error) {
	if h == nil {
		Handle(contract.OpMessageSubscriberHandleMessage, nil) // recorded as a registration mistake
		return
	}
	Handle(contract.OpMessageSubscriberHandleMessage, func(payload []byte) ([]byte, error) {
		m, err := decodeSubMessage(payload)
		if err != nil {
			return nil, err
		}
		return nil, h(Message{Subject: m.Subject, ReplyTo: m.ReplyTo, Body: m.Body})
	})
}

// WriteLog writes text to the host's log through the wasmcloud:builtin:logging contract, at level
// "debug", "info", "warn" or "error" (hosts treat anything else as "info"). Unlike Log, the entry
// is subject to the actor's claims, which must list wasmcloud:builtin:logging.
func WriteLog(level, text string) error { return client{call: HostCall}.writeLog(level, text) }

// GenerateGUID returns a random version 4 UUID in its 36-character text form, from the
// wasmcloud:builtin:numbergen contract.
func GenerateGUID() (string, error) { return client{call: HostCall}.generateGUID() }

// Random32 returns a random 32-bit number from the wasmcloud:builtin:numbergen contract.
func Random32() (uint32, error) { return client{call: HostCall}.random32() }

// RandomInRange returns a random number from lo to hi, both included, from the
// wasmcloud:builtin:numbergen contract. The host refuses lo > hi.
func RandomInRange(lo, hi uint32) (uint32, error) {
	return client{call: HostCall}.randomInRange(lo, hi)
}
