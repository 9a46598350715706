package httpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wasmcloud-host/wasmcloud-host/capability/contract"
)

// The bodies of the responses the server makes up itself. They say what happened without saying
// why: the cause is logged, never sent to the client.
const (
	textBadRequest  = "bad request: cannot read the request body\n"
	textTooLarge    = "request entity too large\n"
	textInternal    = "internal server error\n"
	textBadGateway  = "bad gateway: the actor failed to handle the request\n"
	textUnavailable = "service unavailable: no actor serves this address\n"
	textActorGone   = "service unavailable: the actor is not running\n"
	textTimeout     = "gateway timeout: the actor did not answer in time\n"
	textBusy        = "service unavailable: too many requests in flight\n"
)

// errHandlerTimeout is the cause of a handler context that reached Config.HandlerTimeout, which
// tells that deadline apart from the client going away.
var errHandlerTimeout = errors.New("httpserver: handler timeout")

// dropHeaders are the response headers an actor may not set: they describe the connection or the
// framing of this one hop, which the server owns (it sets Content-Length itself).
var dropHeaders = map[string]bool{
	"Connection":        true,
	"Content-Length":    true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Te":                true,
	"Trailer":           true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
}

// ServeHTTP maps one HTTP request to the owner's Handler and its answer back to HTTP.
func (b *binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hp := b.target.Load()
	if hp == nil {
		w.Header().Set("Connection", "close")
		writeText(w, http.StatusServiceUnavailable, textUnavailable)
		return
	}
	limits := b.limits.Load()
	if r.ContentLength > limits.MaxBody {
		// Refuse before reading: the rest of the body is not worth the bandwidth.
		w.Header().Set("Connection", "close")
		writeText(w, http.StatusRequestEntityTooLarge, textTooLarge)
		return
	}
	// Bodies are paid for from the address's byte budget as their bytes arrive (a slow client holds what it
	// sent, not what it announced), and handling takes a slot only while the actor runs: neither trickling
	// bodies nor slow readers of responses hold the slots other requests need.
	b.reading.Add(1)
	body, buf, charged, err := readBody(r.Body, r.ContentLength, limits.MaxBody, &b.bodyBytes, b.cfg.BodyBudget)
	b.reading.Add(-1)
	defer func() {
		putBuffer(buf)
		b.bodyBytes.Add(-charged)
	}()
	if err != nil {
		w.Header().Set("Connection", "close")
		switch {
		case errors.Is(err, errBodyTooLarge):
			writeText(w, http.StatusRequestEntityTooLarge, textTooLarge)
		case errors.Is(err, errBudget):
			b.refusedRequests.Add(1)
			w.Header().Set("Retry-After", "1")
			writeText(w, http.StatusServiceUnavailable, textBusy)
		default:
			b.log.Debug("cannot read an HTTP request body", slog.Any("error", err))
			writeText(w, http.StatusBadRequest, textBadRequest)
		}
		return
	}
	if b.active.Add(1) > int64(limits.MaxConcurrent) {
		b.active.Add(-1)
		b.refusedRequests.Add(1)
		w.Header().Set("Retry-After", "1")
		writeText(w, http.StatusServiceUnavailable, textBusy)
		return
	}
	handled := false
	release := func() {
		if !handled {
			handled = true
			b.active.Add(-1)
		}
	}
	defer release()

	header := map[string][]string(r.Header)
	if r.Host != "" {
		// net/http moves Host out of the header map; actors expect to find it there.
		header["Host"] = []string{r.Host}
	}
	req := contract.HTTPRequest{
		Method:      r.Method,
		Path:        r.URL.EscapedPath(),
		QueryString: r.URL.RawQuery,
		Header:      header,
		Body:        body,
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), b.cfg.HandlerTimeout, errHandlerTimeout)
	defer cancel()
	resp, err := callHandler(ctx, *hp, &req)
	release() // the slot is for the actor's work; writing the answer is the connection's
	if err != nil {
		b.writeFailure(ctx, w, r, err)
		return
	}
	if resp == nil {
		b.log.Warn("actor answered an HTTP request with no response")
		writeText(w, http.StatusBadGateway, textBadGateway)
		return
	}
	b.writeResponse(w, resp)
}

// writeFailure answers a request whose Handler returned an error or panicked.
func (b *binding) writeFailure(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		b.log.Error("HTTP handler panicked", slog.Any("panic", pe.value), slog.String("stack", string(pe.stack)))
		writeText(w, http.StatusInternalServerError, textInternal)
	case errors.Is(err, ErrActorGone):
		b.log.Debug("HTTP request for an actor that is gone", slog.Any("error", err))
		writeText(w, http.StatusServiceUnavailable, textActorGone)
	case context.Cause(ctx) == errHandlerTimeout || errors.Is(err, context.DeadlineExceeded):
		b.log.Warn("actor did not answer an HTTP request in time",
			slog.Duration("timeout", b.cfg.HandlerTimeout), slog.Any("error", err))
		writeText(w, http.StatusGatewayTimeout, textTimeout)
	case r.Context().Err() != nil:
		// The client went away (or the server was forced to close): nobody reads an answer.
		b.log.Debug("HTTP request abandoned", slog.Any("error", err))
		writeText(w, http.StatusBadGateway, textBadGateway)
	default:
		b.log.Warn("actor failed to handle an HTTP request", slog.Any("error", err))
		writeText(w, http.StatusBadGateway, textBadGateway)
	}
}

// writeResponse writes an actor's response: its status (0 meaning 200), its headers less the
// connection-level ones, and its body with a Content-Length.
func (b *binding) writeResponse(w http.ResponseWriter, resp *contract.HTTPResponse) {
	status := int(resp.StatusCode)
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status > 999 {
		// net/http cannot send an informational status as the final one, nor one above 999.
		b.log.Warn("actor answered an HTTP request with an invalid status code", slog.Int("status", status))
		writeText(w, http.StatusBadGateway, textBadGateway)
		return
	}
	h := w.Header()
	for name, values := range resp.Header {
		canon := http.CanonicalHeaderKey(name)
		if dropHeaders[canon] {
			continue
		}
		if !validHeaderName(name) {
			b.log.Debug("dropped an invalid response header name", slog.String("header", name))
			continue
		}
		values = validHeaderValues(values)
		if len(values) == 0 {
			continue
		}
		if prev := h[canon]; prev != nil {
			// Two spellings of one name ("x-a" and "X-A"): keep both sets of values.
			values = append(append([]string(nil), prev...), values...)
		}
		h[canon] = values
	}
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // send no Content-Type rather than a sniffed one
	}
	if !bodyAllowed(status) {
		w.WriteHeader(status)
		return
	}
	h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body) // a write error means the client went away
}

// bodyAllowed reports whether a response with status may have a body (RFC 9110, section 6.4.1).
func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// writeText writes one of the server's own plain-text responses.
func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Content-Length"] = []string{strconv.Itoa(len(text))}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// panicError carries a Handler's panic out of callHandler.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("httpserver: handler panicked: %v", e.value) }

// callHandler calls h and turns a panic into a *panicError.
func callHandler(ctx context.Context, h Handler, req *contract.HTTPRequest) (resp *contract.HTTPResponse, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, req)
}

// validHeaderName reports whether name is an HTTP token (RFC 9110, section 5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHeaderValues returns values without the ones that hold a control character other than a
// tab (a CR or LF would let an actor forge headers); it returns values itself when all are valid.
func validHeaderValues(values []string) []string {
	for i, v := range values {
		if !validHeaderValue(v) {
			kept := append([]string(nil), values[:i]...)
			for _, v := range values[i+1:] {
				if validHeaderValue(v) {
					kept = append(kept, v)
				}
			}
			return kept
		}
	}
	return values
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Request bodies are read into pooled buffers, which go back to the pool once the response is
// written. Buffers above maxPooled are left to the garbage collector so that one large upload
// does not pin its memory.
const (
	minBuffer = 4 << 10
	readChunk = 64 << 10
	maxPooled = 1 << 20
)

var (
	bufferPool      sync.Pool // of *[]byte
	errBodyTooLarge = errors.New("httpserver: request body too large")
)

// getBuffer returns an empty buffer with room for at least n bytes.
func getBuffer(n int) *[]byte {
	if p, ok := bufferPool.Get().(*[]byte); ok {
		if cap(*p) >= n {
			*p = (*p)[:0]
			return p
		}
		bufferPool.Put(p)
	}
	b := make([]byte, 0, max(n, minBuffer))
	return &b
}

// putBuffer returns a buffer from readBody to the pool.
func putBuffer(p *[]byte) {
	if p != nil && cap(*p) <= maxPooled {
		bufferPool.Put(p)
	}
}

// errBudget is the error of readBody when the address's bodies in flight would exceed its byte budget.
var errBudget = errors.New("httpserver: request bodies in flight exceed the address's budget")

// readBody reads a request body of contentLength bytes (-1 when unknown) but no more than limit. It returns
// the body (nil when empty), the buffer that holds it, for putBuffer, and the bytes it charged to inFlight,
// which the caller gives back once the body is no longer needed. The buffer grows with the bytes that
// arrive, each growth charged to inFlight first, which must stay within budget: a declared length only caps
// the first allocation at readChunk, so a client that announces megabytes and sends a few bytes costs a few
// kilobytes, and all the bodies of an address together cost at most budget.
func readBody(r io.Reader, contentLength, limit int64, inFlight *atomic.Int64, budget int64) (_ []byte, _ *[]byte, charged int64, _ error) {
	if contentLength == 0 {
		return nil, nil, 0, nil
	}
	first := int64(minBuffer)
	if contentLength > 0 {
		first = min(contentLength, readChunk)
	}
	charge := func(n int64) bool {
		if inFlight.Add(n) > budget {
			inFlight.Add(-n)
			return false
		}
		charged += n
		return true
	}
	if !charge(first) {
		return nil, nil, charged, errBudget
	}
	p := getBuffer(int(first))
	body := *p
	for {
		if len(body) == cap(body) {
			// Double, never past limit+1 (one byte more tells a body that is too large), and pay first: the
			// buffer is at most twice what arrived.
			grow := min(int64(max(cap(body), minBuffer)), limit+1-int64(len(body)))
			if grow <= 0 {
				*p = body
				return nil, p, charged, errBodyTooLarge
			}
			if !charge(grow) {
				*p = body
				return nil, p, charged, errBudget
			}
			grown := make([]byte, len(body), len(body)+int(grow))
			copy(grown, body)
			body = grown
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if int64(len(body)) > limit {
			*p = body
			return nil, p, charged, errBodyTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			*p = body
			return nil, p, charged, err
		}
	}
	*p = body
	if contentLength > 0 && int64(len(body)) != contentLength {
		return nil, p, charged, io.ErrUnexpectedEOF
	}
	if len(body) == 0 {
		return nil, p, charged, nil
	}
	return body, p, charged, nil
}
