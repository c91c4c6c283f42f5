package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// env is a real daemon, with its dashboard, under test.
type env struct {
	t      *testing.T
	d      *daemon.Daemon
	base   string // http://host:port
	js     jetstream.JetStream
	cc     *grpc.ClientConn
	vendor string // the bootstrap vendor token; empty without authentication
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start runs a daemon with the example registry on free loopback ports.
func start(t *testing.T, noAuth bool, with ...func(*daemon.Options)) *env {
	t.Helper()
	opts := daemon.Options{
		DataDir:        t.TempDir(),
		NATSListen:     "127.0.0.1:-1",
		GRPCAddr:       "127.0.0.1:0",
		HTTPAddr:       "127.0.0.1:0",
		Deadline:       72 * time.Hour,
		OrgsFile:       "../../deploy/examples/orgs.csv",
		InsecureNoAuth: noAuth,
		Log:            testLogger(),
	}
	for _, f := range with {
		f(&opts)
	}
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(d.Stop)
	e := &env{t: t, d: d, base: "http://" + d.HTTPAddr()}
	if !noAuth {
		raw, err := os.ReadFile(filepath.Join(opts.DataDir, "vendor.token"))
		if err != nil {
			t.Fatal(err)
		}
		e.vendor = strings.TrimSpace(string(raw))
	}
	// As the daemon's NATS user (the embedded server always authenticates).
	user, err := natsauth.UserOptionFromFile(filepath.Join(d.NATSAuthDir(), natsauth.DaemonSeedFile))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(d.NATSURL(), user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	if e.cc, err = grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cc.Close() })
	return e
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// as is a gRPC context that carries token.
func as(t *testing.T, token string) context.Context {
	if token == "" {
		return ctx(t)
	}
	return metadata.AppendToOutgoingContext(ctx(t), "authorization", "Bearer "+token)
}

// issue returns a new token for org and role, issued by the vendor.
func (e *env) issue(org string, role cascadev1.Role) string {
	e.t.Helper()
	r, err := cascadev1.NewTokenServiceClient(e.cc).IssueToken(as(e.t, e.vendor),
		&cascadev1.IssueTokenRequest{OrgId: org, Role: role, Label: "dashboard test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.GetToken()
}

// publish reports a breach over NATS, as a vendor's tool does, and waits
// until every notice is delivered.
func (e *env) publish(id string, orgs ...string) {
	e.t.Helper()
	var aff []string
	for _, o := range orgs {
		aff = append(aff, fmt.Sprintf(`{"org_id":%q,"approx_subjects":1200}`, o))
	}
	body := fmt.Sprintf(`{"id":%q,"processor":"Exempel HR-system AB","title":"Stolen payroll database %s","nature":"copied database",
"discovered_at":"2025-08-23T14:00:00Z","affected":[%s],"contact":{"email":"sec@exempel.example.org"}}`, id, id, strings.Join(aff, ","))
	if _, err := e.js.Publish(ctx(e.t), "cascade.breach.report", []byte(body)); err != nil {
		e.t.Fatalf("publish: %v", err)
	}
	bc := cascadev1.NewBreachServiceClient(e.cc)
	testkit.Eventually(e.t, 20*time.Second, func() error {
		r, err := bc.GetBreachSummary(as(e.t, e.vendor), &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err != nil {
			return err
		}
		if r.GetSummary().GetDelivered() != int64(len(orgs)) {
			return fmt.Errorf("delivered %d of %d", r.GetSummary().GetDelivered(), len(orgs))
		}
		return nil
	})
}

// update publishes follow-up facts that add organisations, and waits
// until the breach has total notices, all delivered.
func (e *env) update(id string, total int64, add ...string) {
	e.t.Helper()
	var aff []string
	for _, o := range add {
		aff = append(aff, fmt.Sprintf(`{"org_id":%q,"approx_subjects":300}`, o))
	}
	body := fmt.Sprintf(`{"breach_id":%q,"summary":"More municipalities found affected","add_affected":[%s]}`, id, strings.Join(aff, ","))
	if _, err := e.js.Publish(ctx(e.t), "cascade.breach.update", []byte(body)); err != nil {
		e.t.Fatalf("publish update: %v", err)
	}
	bc := cascadev1.NewBreachServiceClient(e.cc)
	testkit.Eventually(e.t, 20*time.Second, func() error {
		r, err := bc.GetBreachSummary(as(e.t, e.vendor), &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err != nil {
			return err
		}
		if s := r.GetSummary(); s.GetTotal() != total || s.GetDelivered() != total {
			return fmt.Errorf("summary %v, want %d delivered", s, total)
		}
		return nil
	})
}

// call makes one request to the dashboard as token.
func (e *env) call(method, path, token, contentType, body string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx(e.t), method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// decode reads a JSON answer.
func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return m
}

// sse is one server-sent event.
type sse struct {
	event string
	data  map[string]any
}

// events reads server-sent events from resp until ctx ends.
func events(t *testing.T, resp *http.Response) <-chan sse {
	out := make(chan sse, 1024)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev string
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 {
					var m map[string]any
					if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &m); err != nil {
						t.Errorf("event %s: data %q: %v", ev, data, err)
						return
					}
					out <- sse{ev, m}
				}
				ev, data = "", nil
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			default:
				t.Errorf("unexpected line %q", line)
			}
		}
	}()
	return out
}

// next returns the next event that satisfies cond.
func next(t *testing.T, ch <-chan sse, timeout time.Duration, cond func(sse) bool) sse {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("event stream ended")
			}
			if cond(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no such event within %s", timeout)
		}
	}
}
