package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// PubMessage is the payload of Messaging.Publish.
type PubMessage struct {
	// Subject is the subject to publish on.
	Subject string
	// ReplyTo is the subject for replies, or empty for none.
	ReplyTo string
	// Body is the message payload. After UnmarshalMsgpack it aliases the input buffer.
	Body []byte
}

// AppendMsgpack appends {"subject", "replyTo", "body"} to b, leaving replyTo out when it is empty
// (as rmp-serde skips an Option that is None) and writing body as a bin.
func (m *PubMessage) AppendMsgpack(b []byte) []byte {
	return appendMessage(b, m.Subject, m.ReplyTo, m.Body)
}

// UnmarshalMsgpack decodes a PubMessage: keys in any order, each optional (absent meaning empty),
// replyTo a str or nil, body a bin or str, unknown keys skipped. On success Body aliases b; on error
// m is left unchanged.
func (m *PubMessage) UnmarshalMsgpack(b []byte) error {
	subject, replyTo, body, err := decodeMessage(b)
	if err != nil {
		return fmt.Errorf("contract: decode PubMessage: %w", err)
	}
	*m = PubMessage{Subject: subject, ReplyTo: replyTo, Body: body}
	return nil
}

// ReplyMessage is the reply to Messaging.Request.
type ReplyMessage struct {
	// Subject is the subject the reply arrived on.
	Subject string
	// ReplyTo is the reply's own reply subject, or empty for none.
	ReplyTo string
	// Body is the reply payload. After UnmarshalMsgpack it aliases the input buffer.
	Body []byte
}

// AppendMsgpack appends {"subject", "replyTo", "body"} to b, leaving replyTo out when it is empty
// and writing body as a bin.
func (m *ReplyMessage) AppendMsgpack(b []byte) []byte {
	return appendMessage(b, m.Subject, m.ReplyTo, m.Body)
}

// UnmarshalMsgpack decodes a ReplyMessage with the same tolerance as PubMessage.UnmarshalMsgpack.
func (m *ReplyMessage) UnmarshalMsgpack(b []byte) error {
	subject, replyTo, body, err := decodeMessage(b)
	if err != nil {
		return fmt.Errorf("contract: decode ReplyMessage: %w", err)
	}
	*m = ReplyMessage{Subject: subject, ReplyTo: replyTo, Body: body}
	return nil
}

// SubMessage is the payload of MessageSubscriber.HandleMessage: a message delivered to an actor.
type SubMessage struct {
	// Subject is the subject the message arrived on.
	Subject string
	// ReplyTo is the subject the sender expects a reply on, or empty for none.
	ReplyTo string
	// Body is the message payload. After UnmarshalMsgpack it aliases the input buffer.
	Body []byte
}

// AppendMsgpack appends {"subject", "replyTo", "body"} to b, leaving replyTo out when it is empty
// and writing body as a bin.
func (m *SubMessage) AppendMsgpack(b []byte) []byte {
	return appendMessage(b, m.Subject, m.ReplyTo, m.Body)
}

// UnmarshalMsgpack decodes a SubMessage with the same tolerance as PubMessage.UnmarshalMsgpack.
func (m *SubMessage) UnmarshalMsgpack(b []byte) error {
	subject, replyTo, body, err := decodeMessage(b)
	if err != nil {
		return fmt.Errorf("contract: decode SubMessage: %w", err)
	}
	*m = SubMessage{Subject: subject, ReplyTo: replyTo, Body: body}
	return nil
}

// RequestMessage is the payload of Messaging.Request.
type RequestMessage struct {
	// Subject is the subject to send the request on.
	Subject string
	// Body is the request payload. After UnmarshalMsgpack it aliases the input buffer.
	Body []byte
	// TimeoutMs is how long to wait for the reply, in milliseconds.
	TimeoutMs uint32
}

// AppendMsgpack appends {"subject": str, "body": bin, "timeoutMs": uint} to b.
func (m *RequestMessage) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x83)
	b = append(b, keySubject...)
	b = msgp.AppendString(b, m.Subject)
	b = append(b, keyBody...)
	b = msgp.AppendBytes(b, m.Body)
	b = append(b, keyTimeoutMs...)
	return msgp.AppendUint32(b, m.TimeoutMs)
}

// UnmarshalMsgpack decodes a RequestMessage: keys in any order, subject and body optional (absent
// meaning empty), body a bin or str, timeoutMs required (as in the Rust model) and an integer of any
// width within the u32 range, unknown keys skipped. On success Body aliases b; on error m is left
// unchanged.
func (m *RequestMessage) UnmarshalMsgpack(b []byte) error {
	var v RequestMessage
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode RequestMessage: %w", err)
	}
	*m = v
	return nil
}

func (m *RequestMessage) decode(b []byte) error {
	seen, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "subject":
			m.Subject, b, err = readString(b, "subject")
			return 1, b, err
		case "body":
			m.Body, b, err = readBytes(b, "body")
			return 2, b, err
		case "timeoutMs":
			var u uint64
			u, b, err = readUint(b, "timeoutMs", math.MaxUint32)
			m.TimeoutMs = uint32(u)
			return 4, b, err
		}
		return 0, b, nil
	})
	switch {
	case err != nil:
		return err
	case seen&4 == 0:
		return fieldError("timeoutMs", ErrMissingField)
	}
	if err := checkTrailing(rest); err != nil {
		return err
	}
	detach(&m.Subject)
	return nil
}

// appendMessage writes the {subject, replyTo, body} shape shared by PubMessage, ReplyMessage and
// SubMessage.
func appendMessage(b []byte, subject, replyTo string, body []byte) []byte {
	if replyTo == "" {
		b = append(b, 0x82)
	} else {
		b = append(b, 0x83)
	}
	b = append(b, keySubject...)
	b = msgp.AppendString(b, subject)
	if replyTo != "" {
		b = append(b, keyReplyTo...)
		b = msgp.AppendString(b, replyTo)
	}
	b = append(b, keyBody...)
	return msgp.AppendBytes(b, body)
}

// decodeMessage decodes the {subject, replyTo, body} shape. The strings do not alias b; body does.
func decodeMessage(b []byte) (subject, replyTo string, body []byte, err error) {
	_, rest, err := decodeFields(b, func(key, b []byte) (bit seenFields, _ []byte, err error) {
		switch string(key) {
		case "subject":
			subject, b, err = readString(b, "subject")
			return 1, b, err
		case "replyTo":
			replyTo, b, err = readOptString(b, "replyTo")
			return 2, b, err
		case "body":
			body, b, err = readBytes(b, "body")
			return 4, b, err
		}
		return 0, b, nil
	})
	if err == nil {
		err = checkTrailing(rest)
	}
	if err != nil {
		return "", "", nil, err
	}
	detach(&subject, &replyTo)
	return subject, replyTo, body, nil
}
