package policy

import (
	"container/list"
	"time"
)

// The two policy services a decision may combine, in the order their errors and messages are
// reported.
const (
	backendNATS = iota
	backendHTTP
	numBackends
)

var backendNames = [numBackends]string{"nats", "http"}

// part is one policy service's say in a cached decision.
type part struct {
	asked     bool
	permitted bool
	message   string
}

// entry is a cached decision: the parts of every configured policy service, combined by combine.
type entry struct {
	key     string
	id      string
	parts   [numBackends]part
	expires time.Time
	elem    *list.Element // in cache.order
}

// combine is the decision of the parts: permitted when every asked service permitted. The message is
// that of the services that denied, or when none did, of those that said something, joined with "; ".
// denier is the first service that denied, or -1.
func combine(parts *[numBackends]part) (permitted bool, message string, denier int) {
	denier = -1
	for i := range parts {
		if parts[i].asked && !parts[i].permitted && denier < 0 {
			denier = i
		}
	}
	for i := range parts {
		if parts[i].asked && (denier < 0 || !parts[i].permitted) {
			message = join(message, parts[i].message)
		}
	}
	return denier < 0, message, denier
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// cache holds decisions by request key and by request id, at most max of them, each until it
// expires. When full it drops the oldest insertion. Not safe for concurrent use: the Service's mutex
// guards it.
type cache struct {
	max     int
	byKey   map[string]*entry
	byID    map[string]*entry
	order   *list.List // of *entry, oldest first
	flushes uint64     // incremented by flush, so that an answer asked for before a flush is not cached after it
}

func newCache(max int) *cache {
	return &cache{max: max, byKey: map[string]*entry{}, byID: map[string]*entry{}, order: list.New()}
}

// get returns the live entry for key, dropping it if it has expired.
func (c *cache) get(key []byte, now time.Time) *entry {
	e := c.byKey[string(key)]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		c.remove(e)
		return nil
	}
	return e
}

// lookupID returns the live entry asked under request id, dropping it if it has expired.
func (c *cache) lookupID(id string, now time.Time) *entry {
	e := c.byID[id]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		c.remove(e)
		return nil
	}
	return e
}

// put stores e (whose key is not in the cache), dropping the oldest entry first when full.
func (c *cache) put(e *entry) {
	if old := c.byKey[e.key]; old != nil {
		c.remove(old)
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Front().Value.(*entry))
	}
	e.elem = c.order.PushBack(e)
	c.byKey[e.key] = e
	c.byID[e.id] = e
}

func (c *cache) remove(e *entry) {
	c.order.Remove(e.elem)
	delete(c.byKey, e.key)
	delete(c.byID, e.id)
}

// flush drops every decision.
func (c *cache) flush() {
	clear(c.byKey)
	clear(c.byID)
	c.order.Init()
	c.flushes++
}

func (c *cache) len() int { return c.order.Len() }
