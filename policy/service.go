package policy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Attribute keys of the log lines about change messages.
const (
	attrSubject   = "subject"
	attrRequestID = "request_id"
	attrPermitted = "permitted"
	attrError     = "error"
)

// Defaults and bounds of a Config.
const (
	// DefaultTimeout is how long one question waits for its answer (wasmCloud 0.x's default).
	DefaultTimeout = time.Second
	// DefaultCacheTTL is how long a decision is kept when its answer names no ttl.
	DefaultCacheTTL = 60 * time.Second
	// MaxTTL caps every TTL, configured or answered: a permit revoked without a change message is
	// still honoured for at most this long.
	MaxTTL = 10 * time.Minute
	// DefaultCacheSize is how many decisions are kept at most.
	DefaultCacheSize = 4096
)

// Config is what a Service needs. The daemon fills it from WASMCLOUD_POLICY_* variables.
type Config struct {
	// Topic is the NATS subject policy questions are sent to (WASMCLOUD_POLICY_TOPIC). Empty: no
	// NATS policy service.
	Topic string
	// ChangesTopic is the NATS subject on which a policy service announces changed decisions
	// (WASMCLOUD_POLICY_CHANGES_TOPIC). Wildcards are allowed. Empty: not subscribed.
	ChangesTopic string
	// Timeout bounds each question, to both services when both are configured
	// (WASMCLOUD_POLICY_TIMEOUT). Zero means DefaultTimeout.
	Timeout time.Duration
	// Endpoint is the URL of an OPA data API document, e.g. http://127.0.0.1:8181/v1/data/wasmcloud
	// (WASMCLOUD_POLICY_SERVICE_ENDPOINT). Empty: no HTTP policy service.
	Endpoint string
	// HTTPClient asks the Endpoint. Nil means a client that does not follow redirects (a redirect is
	// a status other than 200, so it denies).
	HTTPClient *http.Client
	// CacheTTL is how long a decision is kept when its answer names no ttl; zero means
	// DefaultCacheTTL. At most MaxTTL.
	CacheTTL time.Duration
	// CacheSize is how many decisions are kept at most; zero means DefaultCacheSize.
	CacheSize int
	// Host describes this host in every question.
	Host HostInfo
	// Logger receives what the changes subscription cannot return: overrides applied, flushes, and
	// change messages that do not decode. Nil discards.
	Logger *slog.Logger
}

// Service asks the policy services. Its methods are safe for concurrent use.
type Service struct {
	topic, changesTopic string
	endpoint            string // as configured, for requests
	endpointName        string // without user information, for errors
	timeout, ttl        time.Duration
	nc                  *nats.Conn
	client              *http.Client
	ownClient           bool // client was made by New, so Shutdown closes its idle connections
	host                json.RawMessage
	log                 *slog.Logger

	now   func() time.Time // time.Now; tests replace it
	newID func() string    // newRequestID; tests replace it

	keys sync.Pool // of *[]byte, for cache keys

	mu sync.Mutex
	// Guarded by mu.
	cache   *cache
	flights map[string]*flight
	sub     *nats.Subscription
	closed  bool
	// wg counts the goroutines that ask and the change handlers running; Add only under mu while
	// !closed.
	wg sync.WaitGroup
}

// flight is one question in progress; the callers asking the same question wait for it.
type flight struct {
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int // guarded by Service.mu; how many Decide calls wait (tests read it)
	// Written before done is closed.
	d   Decision
	err error
}

// New checks cfg and returns a Service; it does no I/O. nc carries the NATS questions and the changes
// subscription; it may be nil when neither Topic nor ChangesTopic is set. With neither Topic nor
// Endpoint the Service is disabled: Decide permits everything without I/O.
func New(cfg Config, nc *nats.Conn) (*Service, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if p := subjectProblem(cfg.Topic, false); p != "" {
		bad("Topic %s: %s", quote(cfg.Topic), p)
	}
	if p := subjectProblem(cfg.ChangesTopic, true); p != "" {
		bad("ChangesTopic %s: %s", quote(cfg.ChangesTopic), p)
	}
	enabled := cfg.Topic != "" || cfg.Endpoint != ""
	if nc == nil && (cfg.Topic != "" || (enabled && cfg.ChangesTopic != "")) {
		bad("Topic and ChangesTopic need a NATS connection")
	}
	var endpointName string
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		switch {
		case err != nil:
			bad("Endpoint is not a URL")
		case u.Scheme != "http" && u.Scheme != "https":
			bad("Endpoint %s: want an http or https URL", quote(u.Redacted()))
		case u.Host == "":
			bad("Endpoint %s: no host", quote(u.Redacted()))
		default:
			endpointName = u.Redacted()
		}
	}
	switch {
	case cfg.Timeout < 0:
		bad("Timeout %v is negative", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.CacheTTL < 0:
		bad("CacheTTL %v is negative", cfg.CacheTTL)
	case cfg.CacheTTL > MaxTTL:
		bad("CacheTTL %v exceeds %v", cfg.CacheTTL, MaxTTL)
	case cfg.CacheTTL == 0:
		cfg.CacheTTL = DefaultCacheTTL
	}
	switch {
	case cfg.CacheSize < 0:
		bad("CacheSize %d is negative", cfg.CacheSize)
	case cfg.CacheSize == 0:
		cfg.CacheSize = DefaultCacheSize
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	client, ownClient := cfg.HTTPClient, cfg.HTTPClient == nil
	if ownClient {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		topic:        cfg.Topic,
		endpoint:     cfg.Endpoint,
		endpointName: endpointName,
		timeout:      cfg.Timeout,
		ttl:          cfg.CacheTTL,
		nc:           nc,
		client:       client,
		ownClient:    ownClient,
		host:         encodeHost(cfg.Host),
		log:          log,
		now:          time.Now,
		newID:        newRequestID,
		cache:        newCache(cfg.CacheSize),
		flights:      map[string]*flight{},
	}
	if enabled {
		s.changesTopic = cfg.ChangesTopic
	}
	s.keys.New = func() any { b := make([]byte, 0, 512); return &b }
	return s, nil
}

// Enabled reports whether a policy service is configured. A disabled Service permits everything.
func (s *Service) Enabled() bool { return s.topic != "" || s.endpoint != "" }

// Start subscribes to the changes topic, when one is configured, and waits until the NATS server has
// the subscription. Decide works without Start; only changes are missed.
func (s *Service) Start(ctx context.Context) error {
	if s.changesTopic == "" {
		return nil
	}
	s.mu.Lock()
	if s.closed || s.sub != nil {
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return errors.New("policy: start after shutdown")
		}
		return nil
	}
	sub, err := s.nc.Subscribe(s.changesTopic, s.onChange)
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("policy: subscribe to changes topic %s: %w", s.changesTopic, err)
	}
	s.sub = sub
	s.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("policy: subscribe to changes topic %s: %w", s.changesTopic, err)
	}
	return nil
}

// Shutdown unsubscribes from the changes topic, cancels the questions in flight (their callers are
// denied) and waits for every goroutine the Service started, or for ctx. Decide then denies with
// ErrUnavailable. Shutdown is idempotent.
func (s *Service) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	sub := s.sub
	s.sub = nil
	for _, f := range s.flights {
		f.cancel()
	}
	s.mu.Unlock()
	var err error
	if sub != nil {
		if uerr := sub.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) && !errors.Is(uerr, nats.ErrBadSubscription) {
			err = fmt.Errorf("policy: unsubscribe from changes topic %s: %w", s.changesTopic, uerr)
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		if s.ownClient {
			s.client.CloseIdleConnections()
		}
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("policy: shutdown: %w", ctx.Err()))
	}
}

// Flush drops every cached decision, so that the next questions are asked anew. The daemon may call
// it when NATS reconnects, since change messages published while it was away were missed.
func (s *Service) Flush() {
	s.mu.Lock()
	s.cache.flush()
	s.mu.Unlock()
}

// Decide asks whether r may go ahead. It returns a Decision whose Permitted is true exactly when the
// error is nil; any error denies, and a *Error says why (errors.Is: ErrDenied, ErrUnavailable,
// ErrBadResponse, ErrInvalidRequest). A live cached decision is returned without I/O; otherwise the
// configured services are asked, each within the Timeout, and all must permit. Identical questions
// asked while one is in flight wait for its answer. When ctx ends first Decide denies, but the
// question goes on and its answer is cached for the next caller.
func (s *Service) Decide(ctx context.Context, r Request) (Decision, error) {
	r, subject, err := normalize(r)
	if err != nil {
		return Decision{Message: err.(*Error).Reason}, err
	}
	if !s.Enabled() {
		return Decision{Permitted: true}, nil
	}
	bp := s.keys.Get().(*[]byte)
	key := appendKey((*bp)[:0], &r)
	*bp = key
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.keys.Put(bp)
		return deny(&Error{Kind: ErrUnavailable, Action: r.Action, Subject: subject, Reason: "the policy service was shut down"})
	}
	if e := s.cache.get(key, s.now()); e != nil {
		d, err := decision(e, &r, subject, true)
		s.mu.Unlock()
		s.keys.Put(bp)
		return d, err
	}
	f := s.flights[string(key)]
	if f == nil {
		k := string(key)
		actx, cancel := context.WithTimeout(context.Background(), s.timeout)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		s.flights[k] = f
		s.wg.Add(1)
		go s.ask(actx, k, f, r, subject, s.cache.flushes)
	}
	f.waiters++
	s.mu.Unlock()
	s.keys.Put(bp)
	select {
	case <-f.done:
		return f.d, f.err
	case <-ctx.Done():
		return deny(&Error{Kind: ErrUnavailable, Action: r.Action, Subject: subject,
			Reason: "no decision before the caller's context ended: " + ctx.Err().Error(), Err: ctx.Err()})
	}
}

func deny(e *Error) (Decision, error) {
	return Decision{Message: e.Reason, RequestID: e.RequestID}, e
}

// decision turns an entry into Decide's result.
func decision(e *entry, r *Request, subject string, cached bool) (Decision, error) {
	permitted, message, denier := combine(&e.parts)
	d := Decision{Permitted: permitted, Message: message, Cached: cached, RequestID: e.id}
	if permitted {
		return d, nil
	}
	return d, &Error{Kind: ErrDenied, Action: r.Action, Subject: subject, Backend: backendNames[denier], RequestID: e.id, Reason: message}
}

// ask puts one question to every configured service, publishes the outcome to the flight's waiters
// and caches it unless it failed, its TTL is zero, or the cache was flushed meanwhile.
func (s *Service) ask(ctx context.Context, key string, f *flight, r Request, subject string, flushes uint64) {
	defer s.wg.Done()
	defer f.cancel()
	id := s.newID()
	body := encodeRequest(id, &r, s.host)
	var (
		answers [numBackends]answer
		errs    [numBackends]error
		asked   [numBackends]bool
	)
	asked[backendNATS] = s.topic != ""
	asked[backendHTTP] = s.endpoint != ""
	var both sync.WaitGroup
	if asked[backendHTTP] {
		both.Go(func() { answers[backendHTTP], errs[backendHTTP] = s.askHTTP(ctx, body) })
	}
	if asked[backendNATS] {
		answers[backendNATS], errs[backendNATS] = s.askNATS(ctx, id, body)
	}
	both.Wait()

	e := &entry{key: key, id: id}
	ttl := MaxTTL
	var failed *Error
	for i := range asked {
		if !asked[i] {
			continue
		}
		if errs[i] != nil {
			if failed == nil {
				failed = asError(errs[i], r.Action, subject, backendNames[i], id)
			}
			continue
		}
		a := answers[i]
		e.parts[i] = part{asked: true, permitted: a.permitted, message: a.message}
		t := s.ttl
		if a.hasTTL {
			t = a.ttl
		}
		ttl = min(ttl, t)
	}
	s.mu.Lock()
	if failed != nil {
		f.d, f.err = deny(failed)
	} else {
		f.d, f.err = decision(e, &r, subject, false)
		if ttl > 0 && s.cache.flushes == flushes && !s.closed {
			e.expires = s.now().Add(ttl)
			s.cache.put(e)
		}
	}
	delete(s.flights, key)
	s.mu.Unlock()
	close(f.done)
}

// asError makes a backend's failure the *Error that Decide returns.
func asError(err error, action Action, subject, backend, id string) *Error {
	out := &Error{Kind: ErrUnavailable, Action: action, Subject: subject, Backend: backend, RequestID: id, Reason: err.Error(), Err: err}
	var ae *answerError
	if errors.As(err, &ae) {
		out.Kind, out.Reason, out.Err = ae.kind, ae.reason, ae.err
	}
	return out
}

// askNATS requests a decision on the policy topic.
func (s *Service) askNATS(ctx context.Context, id string, body []byte) (answer, error) {
	msg, err := s.nc.RequestWithContext(ctx, s.topic, body)
	switch {
	case err == nil:
		return decodeReply(msg.Data, id)
	case errors.Is(err, nats.ErrNoResponders):
		return answer{}, unavailable("no responders on "+s.topic, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return answer{}, unavailable("no answer on "+s.topic+" within "+s.timeout.String(), err)
	case errors.Is(err, context.Canceled):
		return answer{}, unavailable("the policy service was shut down", err)
	}
	return answer{}, unavailable("request on "+s.topic+": "+err.Error(), err)
}

// askHTTP posts {"input": body} to the OPA endpoint.
func (s *Service) askHTTP(ctx context.Context, body []byte) (answer, error) {
	in := make([]byte, 0, len(body)+len(`{"input":}`))
	in = append(in, `{"input":`...)
	in = append(in, body...)
	in = append(in, '}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(in))
	if err != nil {
		return answer{}, unavailable("request to "+s.endpointName+": "+err.Error(), err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		cause := err
		var ue *url.Error
		if errors.As(err, &ue) {
			cause = ue.Err // its URL may carry user information; endpointName does not
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return answer{}, unavailable("no answer from "+s.endpointName+" within "+s.timeout.String(), err)
		case errors.Is(err, context.Canceled):
			return answer{}, unavailable("the policy service was shut down", err)
		}
		return answer{}, unavailable("POST "+s.endpointName+": "+cause.Error(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return answer{}, unavailable(s.endpointName+" answered "+resp.Status, nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return answer{}, unavailable("reading the answer of "+s.endpointName+": "+err.Error(), err)
	}
	return decodeOPA(data)
}

// onChange applies a message of the changes topic. A change for a live cached decision replaces that
// decision's say of the NATS policy service (or of the HTTP one when it is the only one configured)
// until the decision expires. Any other message (an id this host does not hold, an expired one, one
// that does not decode) flushes the whole cache: the policy service said something changed, and
// asking again is the only safe reading. A message with a reply subject is answered
// {"success":true} when it decoded and {"success":false} otherwise, as the OTP host does.
func (s *Service) onChange(m *nats.Msg) {
	c, err := decodeChange(m.Data)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	var e *entry
	if err == nil {
		e = s.cache.lookupID(c.requestID, s.now())
	}
	if e != nil {
		i := backendNATS
		if !e.parts[i].asked {
			i = backendHTTP
		}
		e.parts[i].permitted, e.parts[i].message = c.permitted, c.message
	} else {
		s.cache.flush()
	}
	s.mu.Unlock()
	switch {
	case err != nil:
		s.log.Warn("policy change message does not decode; cache flushed", attrSubject, m.Subject, attrError, err)
	case e != nil:
		s.log.Debug("policy decision overridden", attrRequestID, c.requestID, attrPermitted, c.permitted)
	default:
		s.log.Debug("policy change for a request id this host does not hold; cache flushed", attrRequestID, c.requestID)
	}
	if m.Reply != "" {
		reply := []byte(`{"success":true}`)
		if err != nil {
			reply = []byte(`{"success":false}`)
		}
		_ = m.Respond(reply) // the sender gave a reply subject; if it is gone there is nobody to tell
	}
}

// newRequestID returns a random (version 4) UUID, the form of 0.x request ids.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// subjectProblem says what is wrong with a NATS subject (empty is fine: not configured).
func subjectProblem(s string, wildcards bool) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, " \t\r\n\f") {
		return "contains white space"
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return "has an empty token"
		case !wildcards && (t == "*" || t == ">"):
			return "has a wildcard (questions need a concrete subject)"
		case t == ">" && i != len(tokens)-1:
			return "has > before its last token"
		}
	}
	return ""
}
