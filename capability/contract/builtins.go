package contract

import (
	"fmt"
	"math"

	"github.com/tinylib/msgp/msgp"
)

// LogEntry is the payload of Logging.WriteLog.
type LogEntry struct {
	// Level is the severity: "debug", "info", "warn" or "error" (not checked here).
	Level string
	// Text is the message.
	Text string
}

// AppendMsgpack appends {"level": str, "text": str} to b.
func (e *LogEntry) AppendMsgpack(b []byte) []byte {
	return appendPair(b, keyLevel, e.Level, keyText, e.Text)
}

// UnmarshalMsgpack decodes a LogEntry: keys in any order and optional (meaning ""), unknown keys
// skipped. On error e is left unchanged.
func (e *LogEntry) UnmarshalMsgpack(b []byte) error {
	level, text, err := decodePair(b, "level", "text")
	if err != nil {
		return fmt.Errorf("contract: decode LogEntry: %w", err)
	}
	e.Level, e.Text = level, text
	return nil
}

// RangeLimit is the payload of NumberGen.RandomInRange.
type RangeLimit struct {
	// Min is the smallest value the result may take.
	Min uint32
	// Max is the largest value the result may take.
	Max uint32
}

// AppendMsgpack appends {"min": uint, "max": uint} to b.
func (r *RangeLimit) AppendMsgpack(b []byte) []byte {
	b = append(b, 0x82)
	b = append(b, keyMin...)
	b = msgp.AppendUint32(b, r.Min)
	b = append(b, keyMax...)
	return msgp.AppendUint32(b, r.Max)
}

// UnmarshalMsgpack decodes a RangeLimit: keys in any order and optional (meaning 0), integers of
// any width within the u32 range, unknown keys skipped. It does not check that Min <= Max. On error
// r is left unchanged.
func (r *RangeLimit) UnmarshalMsgpack(b []byte) error {
	var v RangeLimit
	if err := v.decode(b); err != nil {
		return fmt.Errorf("contract: decode RangeLimit: %w", err)
	}
	*r = v
	return nil
}

func (r *RangeLimit) decode(b []byte) error {
	_, rest, err := decodeFields(b, func(key, b []byte) (seenFields, []byte, error) {
		var u uint64
		var err error
		switch string(key) {
		case "min":
			u, b, err = readUint(b, "min", math.MaxUint32)
			r.Min = uint32(u)
			return 1, b, err
		case "max":
			u, b, err = readUint(b, "max", math.MaxUint32)
			r.Max = uint32(u)
			return 2, b, err
		}
		return 0, b, nil
	})
	if err != nil {
		return err
	}
	return checkTrailing(rest)
}
