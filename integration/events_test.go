package integration

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
)

// Events are CloudEvents 1.0 in structured JSON, published by every host on eventSubject and again on
// eventSubject.{name}.
const (
	eventSubject    = "wasmbus.evt.default"
	eventTypePrefix = "com.wasmcloud.lattice."
)

// anySeed matches an encoded nkey seed of any type: 'S', the type letter and 56 more base32 characters.
// Public keys are 56 characters long, so no public key matches.
var anySeed = regexp.MustCompile(`S[A-Z2-7]{57}`)

// latticeEvent is one event as the watcher received it.
type latticeEvent struct {
	subject string
	raw     []byte
	name    string // the type without eventTypePrefix
	env     struct {
		SpecVersion     string          `json:"specversion"`
		ID              string          `json:"id"`
		Type            string          `json:"type"`
		Source          string          `json:"source"`
		Time            string          `json:"time"`
		DataContentType string          `json:"datacontenttype"`
		Data            json.RawMessage `json:"data"`
	}
	data      map[string]any // the decoded data object
	decodeErr error          // why raw is not an envelope with a JSON object as data; reported by check
}

// str returns the data field k if it is a string, and "" otherwise.
func (e latticeEvent) str(k string) string {
	s, _ := e.data[k].(string)
	return s
}

// num returns the data field k if it is a number, and -1 otherwise.
func (e latticeEvent) num(k string) float64 {
	n, ok := e.data[k].(float64)
	if !ok {
		return -1
	}
	return n
}

// eventWatcher records every lattice event from the moment it subscribed: what an operator's event
// consumer sees.
type eventWatcher struct {
	started time.Time
	mu      sync.Mutex
	events  []latticeEvent // guarded by mu; in arrival order, from both subjects
}

// watchEvents subscribes to eventSubject and eventSubject.> on its own connection to srv, for the rest of
// the test.
func watchEvents(t testing.TB, srv *server.Server) *eventWatcher {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w := &eventWatcher{started: time.Now()}
	record := func(m *nats.Msg) {
		ev := latticeEvent{subject: m.Subject, raw: m.Data}
		ev.decodeErr = json.Unmarshal(m.Data, &ev.env)
		if ev.decodeErr == nil {
			ev.decodeErr = json.Unmarshal(ev.env.Data, &ev.data)
		}
		ev.name = strings.TrimPrefix(ev.env.Type, eventTypePrefix)
		w.mu.Lock()
		w.events = append(w.events, ev)
		w.mu.Unlock()
	}
	for _, s := range []string{eventSubject, eventSubject + ".>"} {
		if _, err := nc.Subscribe(s, record); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// main returns the events received on eventSubject itself, in arrival order.
func (w *eventWatcher) main() []latticeEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []latticeEvent
	for _, e := range w.events {
		if e.subject == eventSubject {
			out = append(out, e)
		}
	}
	return out
}

// index returns the position among main() of the first event named name for which match holds, or -1.
func (w *eventWatcher) index(name string, match func(latticeEvent) bool) int {
	return slices.IndexFunc(w.main(), func(e latticeEvent) bool {
		return e.name == name && (match == nil || match(e))
	})
}

// wait polls until an event named name for which match holds (nil: any) has arrived on eventSubject, and
// returns it.
func (w *eventWatcher) wait(t testing.TB, name string, match func(latticeEvent) bool) latticeEvent {
	t.Helper()
	i := -1
	require.Eventually(t, pollTimeout, func() bool {
		i = w.index(name, match)
		return i >= 0
	}, "event "+name)

	return w.main()[i]
}

// from matches events whose source is the host id.
func from(hostID string) func(latticeEvent) bool {
	return func(e latticeEvent) bool { return e.env.Source == hostID }
}

// about matches events of the host hostID about the actor key (data.public_key).
func about(hostID, key string) func(latticeEvent) bool {
	return func(e latticeEvent) bool { return e.env.Source == hostID && e.str("public_key") == key }
}

// check fails the test for every event that is not a well-formed CloudEvents 1.0 envelope from one of
// hosts, that shows a seed, or that was not published on both eventSubject and eventSubject.{name}. It
// waits for the second copy of each event, which the host publishes right after the first.
func (w *eventWatcher) check(t testing.TB, hosts ...string) {
	t.Helper()
	require.Eventually(t, pollTimeout, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		byName := 0
		for _, e := range w.events {
			if e.subject != eventSubject {
				byName++
			}
		}
		return byName*2 == len(w.events)
	}, "every event on both subjects")

	w.mu.Lock()
	events := slices.Clone(w.events)
	w.mu.Unlock()
	copies := map[string]string{} // id → subject of the copy on eventSubject.{name}
	for _, e := range events {
		if e.subject != eventSubject {
			copies[e.env.ID] = e.subject
		}
	}
	ids := map[string]bool{}
	for _, e := range events {
		what := "event " + e.subject + " " + string(e.raw)
		checkNoSecrets(t, what, string(e.raw))
		if anySeed.Match(e.raw) {
			t.Errorf("%s: shows something shaped like a seed", what)
		}
		if e.decodeErr != nil {
			t.Errorf("%s: not a CloudEvents envelope with a JSON object as data: %v", what, e.decodeErr)
			continue
		}
		if e.subject != eventSubject {
			if e.subject != eventSubject+"."+e.name {
				t.Errorf("%s: published on %s, want %s", what, e.subject, eventSubject+"."+e.name)
			}
			continue
		}
		if ids[e.env.ID] {
			t.Errorf("%s: id %q used before", what, e.env.ID)
		}
		ids[e.env.ID] = true
		if copies[e.env.ID] != eventSubject+"."+e.name {
			t.Errorf("%s: copy on %s.%s missing", what, eventSubject, e.name)
		}
		switch {
		case e.env.SpecVersion != "1.0":
			t.Errorf("%s: specversion %q, want 1.0", what, e.env.SpecVersion)
		case e.env.ID == "":
			t.Errorf("%s: no id", what)
		case !strings.HasPrefix(e.env.Type, eventTypePrefix) || e.name == "":
			t.Errorf("%s: type %q, want %s<name>", what, e.env.Type, eventTypePrefix)
		case !slices.Contains(hosts, e.env.Source):
			t.Errorf("%s: source %q is none of the hosts %v", what, e.env.Source, hosts)
		case e.env.DataContentType != "application/json":
			t.Errorf("%s: datacontenttype %q, want application/json", what, e.env.DataContentType)
		}
		at, err := time.Parse(time.RFC3339Nano, e.env.Time)
		if err != nil {
			t.Errorf("%s: time %q is not RFC 3339: %v", what, e.env.Time, err)
		} else if at.Before(w.started.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: time %s is not during the test (started %s)", what, at, w.started)
		}
	}
}

// names returns the set of event names seen on eventSubject.
func (w *eventWatcher) names() map[string]int {
	out := map[string]int{}
	for _, e := range w.main() {
		out[e.name]++
	}
	return out
}
