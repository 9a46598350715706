package guest

import (
	"errors"
	"testing"
)

// assertResult checks a dispatch result: the response, or an error matching want with exactly msg.
func assertResult(tb testing.TB, resp []byte, err error, wantResp string, want error, msg string) {
	tb.Helper()
	if want == nil {
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		if string(resp) != wantResp {
			tb.Errorf("response %q, want %q", resp, wantResp)
		}
		return
	}
	if err == nil {
		tb.Fatalf("got response %q and no error, want %v", resp, want)
	}
	if !errors.Is(err, want) {
		tb.Errorf("error %q does not match %v", err, want)
	}
	if err.Error() != msg {
		tb.Errorf("error text:\n got %q\nwant %q", err, msg)
	}
	if resp != nil {
		tb.Errorf("got response %q together with the error", resp)
	}
}

var errTest = errors.New("test: handler failed")

func TestDispatch(t *testing.T) {
	var d dispatcher
	d.register("T.Echo", func(p []byte) ([]byte, error) { return p, nil })
	d.register("T.Nil", func([]byte) ([]byte, error) { return nil, nil })
	d.register("T.Fail", func([]byte) ([]byte, error) { return []byte("partial"), errTest })
	d.register("T.Panic", func(p []byte) ([]byte, error) { panic(string(p)) })
	d.register("T.PanicErr", func([]byte) ([]byte, error) { panic(errTest) })
	d.register("T.PanicNil", func([]byte) ([]byte, error) { panic(nil) })
	d.register("T.Index", func(p []byte) ([]byte, error) { return []byte{p[len(p)]}, nil })

	tests := []struct {
		name, op, payload, wantResp string
		want                        error
		msg                         string
	}{
		{name: "echo", op: "T.Echo", payload: "hi", wantResp: "hi"},
		{name: "empty payload", op: "T.Echo", payload: "", wantResp: ""},
		{name: "nil response", op: "T.Nil", payload: "x", wantResp: ""},
		{name: "handler error drops the response", op: "T.Fail", want: errTest, msg: "test: handler failed"},
		{name: "unknown operation", op: "T.Missing", want: ErrNotHandled, msg: "guest: method not handled: T.Missing"},
		{name: "operation is case-sensitive", op: "t.echo", want: ErrNotHandled, msg: "guest: method not handled: t.echo"},
		{name: "empty operation", op: "", want: ErrNotHandled, msg: "guest: method not handled: "},
		{name: "panic", op: "T.Panic", payload: "boom", want: ErrPanic,
			msg: `guest: handler panicked (operation "T.Panic"): boom`},
		{name: "panic with an error", op: "T.PanicErr", want: ErrPanic,
			msg: `guest: handler panicked (operation "T.PanicErr"): test: handler failed`},
		{name: "panic(nil)", op: "T.PanicNil", want: ErrPanic,
			msg: `guest: handler panicked (operation "T.PanicNil"): panic called with nil argument`},
		{name: "runtime error", op: "T.Index", payload: "ab", want: ErrPanic,
			msg: `guest: handler panicked (operation "T.Index"): runtime error: index out of range [2] with length 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := d.dispatch(tt.op, []byte(tt.payload))
			assertResult(t, resp, err, tt.wantResp, tt.want, tt.msg)
		})
	}
}

// TestRegistrationMistakes checks that a bad Handle call fails every invocation with its reason.
func TestRegistrationMistakes(t *testing.T) {
	echo := func(p []byte) ([]byte, error) { return p, nil }
	tests := []struct {
		name     string
		register func(d *dispatcher)
		msg      string
	}{
		{name: "empty operation", register: func(d *dispatcher) { d.register("", echo) },
			msg: "guest: invalid handler registration: empty operation name"},
		{name: "nil handler", register: func(d *dispatcher) { d.register("T.Nil", nil) },
			msg: "guest: invalid handler registration: nil handler for T.Nil"},
		{name: "duplicate", register: func(d *dispatcher) { d.register("T.Echo", echo) },
			msg: "guest: invalid handler registration: T.Echo registered twice"},
		{name: "several", register: func(d *dispatcher) { d.register("T.Echo", echo); d.register("", echo) },
			msg: "guest: invalid handler registration: T.Echo registered twice\n" +
				"guest: invalid handler registration: empty operation name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d dispatcher
			d.register("T.Echo", echo)
			tt.register(&d)
			for _, op := range []string{"T.Echo", "T.Missing"} {
				resp, err := d.dispatch(op, []byte("x"))
				assertResult(t, resp, err, "", ErrInvalidHandler, tt.msg)
			}
		})
	}
}

func TestHostError(t *testing.T) {
	tests := []struct {
		name string
		err  *HostError
		msg  string
	}{
		{name: "actor", err: &HostError{Namespace: "hello", Operation: "Hello.SayHello", Message: "no such actor"},
			msg: `guest: host call to hello (operation "Hello.SayHello") failed: no such actor`},
		{name: "provider", err: &HostError{Binding: "default", Namespace: "wasmcloud:keyvalue", Operation: "KeyValue.Get", Message: "not linked"},
			msg: `guest: host call to wasmcloud:keyvalue (link "default", operation "KeyValue.Get") failed: not linked`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.msg {
				t.Errorf("Error():\n got %q\nwant %q", got, tt.msg)
			}
			if !errors.Is(tt.err, ErrHostCall) {
				t.Errorf("does not match ErrHostCall")
			}
			if errors.Is(tt.err, ErrNotHandled) {
				t.Errorf("matches ErrNotHandled")
			}
		})
	}
}

func BenchmarkDispatch(b *testing.B) {
	var d dispatcher
	for _, op := range []string{"A.One", "A.Two", "A.Three", "Hello.SayHello"} {
		d.register(op, func(p []byte) ([]byte, error) { return p, nil })
	}
	payload := []byte("payload")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.dispatch("Hello.SayHello", payload); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDefaultHealthCheck(t *testing.T) {
	var d dispatcher
	got, err := d.dispatch(HealthOperation, []byte{0x80})
	if err != nil || string(got) != "\x81\xa7healthy\xc3" {
		t.Fatalf("default health check = %x, %v", got, err)
	}
	d.register(HealthOperation, func([]byte) ([]byte, error) { return []byte{0x80}, nil })
	if got, _ := d.dispatch(HealthOperation, nil); string(got) != "\x80" {
		t.Fatalf("a registered health handler is not used: %x", got)
	}
}
