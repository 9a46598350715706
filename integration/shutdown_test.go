package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/tinylib/msgp/msgp"

	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil"
	"github.com/wasmcloud-host/wasmcloud-host/internal/testutil/require"
	"github.com/wasmcloud-host/wasmcloud-host/internal/wire"
)

// TestShutdownDrains sends SIGTERM to a host while invocations are in flight: every invocation the NATS
// server delivered before the signal is answered, with echo's reply or a signed refusal, none is left to
// time out; a CLI call started just before the signal succeeds or fails with one clear line; the host
// exits 0 within stopTimeout and logs `shutting down` and then `stopped`.
func TestShutdownDrains(t *testing.T) {
	const (
		inflight = 100      // more than a host handles at once per actor (64), so some wait in its queue
		bodySize = 16 << 10 // echo answers with the body as a JSON array of numbers, about 4 times larger
	)
	srv := runNATS(t, nil)
	c := newCluster(t)
	e := latticeEnv(t, srv, c)
	h := startHost(t, "host", e.with("WASMCLOUD_START_ACTORS", testutil.Path("actors/echo.wasm")))

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	signer := testCluster(t, c.seed)
	inbox := nats.NewInbox()
	replies := make(chan *nats.Msg, inflight)
	sub, err := nc.ChanSubscribe(inbox+".*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	body := bytes.Repeat([]byte("x"), bodySize)
	ids := make([]string, inflight)
	for i := range ids {
		inv := &wire.Invocation{
			Origin:    wire.Entity{PublicKey: signer.HostID()},
			Target:    wire.Entity{PublicKey: echoKey},
			Operation: "HttpServer.HandleRequest",
			Msg:       httpRequest(body),
		}
		if err := signer.Sign(inv); err != nil {
			t.Fatal(err)
		}
		ids[i] = inv.ID
		if err := nc.PublishRequest("wasmbus.rpc.default."+echoKey, inbox+"."+strconv.Itoa(i), inv.AppendMsgpack(nil)); err != nil {
			t.Fatal(err)
		}
	}
	// Once the server has read every request, it has handed them to the host's subscription.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	call := launch(t, "call", e, "call", echoKey, "HttpServer.HandleRequest", "--data", echoRequest)
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()

	t.Run("host exits 0", func(t *testing.T) {
		require.Equal(t, "exit status", h.wait(t, stopTimeout), 0)
		t.Logf("exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	})
	t.Run("shutting down, then stopped", func(t *testing.T) {
		log := h.stderr.String()
		down, stopped := strings.Index(log, `msg="shutting down"`), strings.Index(log, "msg=stopped")
		if down < 0 || stopped < down {
			t.Fatalf("stderr has `shutting down` at %d and `stopped` at %d, want both, in this order:\n%s", down, stopped, log)
		}
	})
	t.Run("every delivered invocation answered", func(t *testing.T) {
		answered, refusals := 0, map[string]int{}
		// The host has exited, so every reply is already with the server; the deadline only bounds how long
		// the (race-instrumented, in-process) server takes to hand them over.
		deadline := time.After(30 * time.Second)
	collect:
		for answered < inflight {
			select {
			case m := <-replies:
				i, err := strconv.Atoi(strings.TrimPrefix(m.Subject, inbox+"."))
				if err != nil || i < 0 || i >= inflight {
					t.Fatalf("reply on unexpected subject %s", m.Subject)
				}
				resp, err := signer.VerifyResponse(m.Data, ids[i])
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				answered++
				if resp.Error != "" {
					refusals[resp.Error]++
					continue
				}
				checkEchoed(t, resp.Msg, len(body))
			case <-deadline:
				break collect
			}
		}
		t.Logf("%d answered, refusals: %v", answered, refusals)
		if answered != inflight {
			t.Errorf("%d of %d invocations delivered to the host before SIGTERM were never answered; their callers wait for their timeout", inflight-answered, inflight)
		}
	})
	t.Run("CLI call succeeded or failed cleanly", func(t *testing.T) {
		code := call.wait(t, cliTimeout)
		call.checkOutput(t)
		switch code {
		case 0:
			require.Equal(t, "reply", oneLine(t, "stdout", call.stdout.String()), echoReply)
		case 1:
			line := oneLine(t, "stderr", call.stderr.String())
			t.Logf("call failed: %s", line)
			if !strings.HasPrefix(line, "wasmcloud-host: ") {
				t.Fatalf("stderr %q is not an error line", line)
			}
		default:
			t.Fatalf("call exit status %d, want 0 or 1; stderr %q", code, call.stderr.String())
		}
	})
}

// httpRequest encodes an HttpServer.HandleRequest payload: GET / with body.
func httpRequest(body []byte) []byte {
	b := msgp.AppendMapHeader(nil, 5)
	b = msgp.AppendString(b, "method")
	b = msgp.AppendString(b, "GET")
	b = msgp.AppendString(b, "path")
	b = msgp.AppendString(b, "/")
	b = msgp.AppendString(b, "queryString")
	b = msgp.AppendString(b, "")
	b = msgp.AppendString(b, "header")
	b = msgp.AppendMapHeader(b, 0)
	b = msgp.AppendString(b, "body")
	return msgp.AppendBytes(b, body)
}

// checkEchoed checks echo's HttpResponse: status 200 and a JSON body that describes the request, with
// the request body as an array of n bytes.
func checkEchoed(t testing.TB, reply []byte, n int) {
	t.Helper()
	resp := unpackMap(t, reply)
	require.Equal(t, "statusCode", fmt.Sprint(resp["statusCode"]), "200")
	raw, ok := resp["body"].([]byte)
	if !ok {
		t.Fatalf("echo body is a %T, want bytes", resp["body"])
	}
	var echoed struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Body   []int  `json:"body"`
	}
	if err := json.Unmarshal(raw, &echoed); err != nil {
		t.Fatalf("echo body is not JSON: %v", err)
	}
	require.Equal(t, "method", echoed.Method, "GET")
	require.Equal(t, "path", echoed.Path, "/")
	require.Equal(t, "echoed body length", len(echoed.Body), n)
}
