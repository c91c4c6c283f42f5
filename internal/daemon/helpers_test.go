package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

const exampleOrgs = "../../deploy/examples/orgs.csv"

// env is a daemon under test with clients for both of its interfaces.
type env struct {
	t        *testing.T
	d        *daemon.Daemon
	opts     daemon.Options
	js       jetstream.JetStream // as the daemon's NATS user
	vendorJS jetstream.JetStream // as the vendor's NATS user
	breachC  cascadev1.BreachServiceClient
	noticeC  cascadev1.NoticeServiceClient
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// options for an embedded daemon on free ports in a temp dir.
func options(t *testing.T) daemon.Options {
	return daemon.Options{
		DataDir:    t.TempDir(),
		NATSListen: "127.0.0.1:-1",
		GRPCAddr:   "127.0.0.1:0",
		Deadline:   72 * time.Hour,
		OrgsFile:   exampleOrgs,
		Log:        testLogger(t),
		// Authentication has its own tests (auth_test.go); the others run
		// in the development mode, which loopback addresses allow.
		InsecureNoAuth: true,
	}
}

func start(t *testing.T, opts daemon.Options) *env {
	t.Helper()
	d, err := daemon.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(d.Stop)
	e := &env{t: t, d: d, opts: opts}
	// The test reads and inspects as the daemon's NATS user and publishes
	// reports as the vendor's, as a vendor would.
	e.js = connectJS(t, d, natsauth.DaemonSeedFile)
	e.vendorJS = connectJS(t, d, natsauth.VendorSeedFile)
	cc, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	e.breachC = cascadev1.NewBreachServiceClient(cc)
	e.noticeC = cascadev1.NewNoticeServiceClient(cc)
	return e
}

// connectNC connects to d's NATS server as the user of seedFile in d's
// credentials directory (natsauth.DaemonSeedFile, VendorSeedFile or
// orgs/<id>.nk); anonymously when d has none (an external server without
// authentication).
func connectNC(tb testing.TB, d *daemon.Daemon, seedFile string, extra ...nats.Option) *nats.Conn {
	tb.Helper()
	opts := append([]nats.Option{nats.MaxReconnects(-1)}, extra...)
	if dir := d.NATSAuthDir(); dir != "" {
		o, err := natsauth.UserOptionFromFile(filepath.Join(dir, seedFile))
		if err != nil {
			tb.Fatal(err)
		}
		opts = append(opts, o)
	}
	nc, err := nats.Connect(d.NATSURL(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// connectJS is connectNC's JetStream.
func connectJS(tb testing.TB, d *daemon.Daemon, seedFile string) jetstream.JetStream {
	tb.Helper()
	js, err := jetstream.New(connectNC(tb, d, seedFile))
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// publish sends a report on cascade.breach.report and returns its stream sequence.
func (e *env) publish(body []byte, hdr ...string) uint64 {
	e.t.Helper()
	m := &nats.Msg{Subject: "cascade.breach.report", Data: body, Header: nats.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		m.Header.Set(hdr[i], hdr[i+1])
	}
	ack, err := e.vendorJS.PublishMsg(ctx(e.t), m)
	if err != nil {
		e.t.Fatalf("publish: %v", err)
	}
	return ack.Sequence
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// report is a valid report for the given orgs.
func report(id string, orgs ...string) []byte {
	var aff []string
	for _, o := range orgs {
		aff = append(aff, fmt.Sprintf(`{"org_id":%q,"approx_subjects":10}`, o))
	}
	return []byte(fmt.Sprintf(`{"id":%q,"processor":"Exempel HR-system AB","title":"Test breach","nature":"copied database",
"discovered_at":"2025-08-23T14:00:00Z","affected":[%s],"contact":{"email":"sec@exempel.example.org"}}`, id, strings.Join(aff, ",")))
}

// allReport is a valid all_customers report.
func allReport(id string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"processor":"P","title":"All","nature":"n","discovered_at":"2025-08-23T14:00:00Z",
"all_customers":true,"contact":{"phone":"+46 8 000 00 00"}}`, id))
}

// summary polls until the breach's summary satisfies cond.
func (e *env) waitSummary(id string, timeout time.Duration, cond func(*cascadev1.BreachSummary) bool) *cascadev1.BreachSummary {
	e.t.Helper()
	var last *cascadev1.BreachSummary
	testkit.Eventually(e.t, timeout, func() error {
		r, err := e.breachC.GetBreachSummary(ctx(e.t), &cascadev1.GetBreachSummaryRequest{BreachId: id})
		if err != nil {
			return err
		}
		last = r.GetSummary()
		if !cond(last) {
			return fmt.Errorf("summary of %s: %v", id, last)
		}
		return nil
	})
	return last
}

// rejections returns every message on cascade.breach.rejected.
func (e *env) rejections() []map[string]any {
	e.t.Helper()
	c, err := e.js.OrderedConsumer(ctx(e.t), "CASCADE_REJECTED", jetstream.OrderedConsumerConfig{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for {
		m, err := c.Next(jetstream.FetchMaxWait(200 * time.Millisecond))
		if err != nil {
			return out
		}
		var r map[string]any
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
}

// deliveries counts stored messages per organisation subject.
func (e *env) deliveries() map[string]uint64 {
	e.t.Helper()
	s, err := e.js.Stream(ctx(e.t), "CASCADE_NOTICES")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx(e.t), jetstream.WithSubjectFilter("cascade.notice.>"))
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Subjects
}

// writeRegistry writes a registry of n organisations org-00000.. and returns its path.
func writeRegistry(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(&b, "org-%05d,Organisation %d\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// listAll pages through ListNotices.
func (e *env) listAll(req *cascadev1.ListNoticesRequest) []*cascadev1.Notice {
	e.t.Helper()
	var out []*cascadev1.Notice
	for {
		r, err := e.noticeC.ListNotices(ctx(e.t), req)
		if err != nil {
			e.t.Fatalf("ListNotices: %v", err)
		}
		out = append(out, r.GetNotices()...)
		if r.GetNextPageToken() == "" {
			return out
		}
		req.PageToken = r.GetNextPageToken()
	}
}

// startErr starts a daemon expected to fail.
func startErr(opts daemon.Options) (*daemon.Daemon, error) {
	d, err := daemon.Start(context.Background(), opts)
	if err == nil {
		d.Stop()
	}
	return d, err
}

// bearer sends a token with every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}
func (bearer) RequireTransportSecurity() bool { return false }

// useToken makes the env's clients send token.
func (e *env) useToken(token string) {
	e.t.Helper()
	cc, err := grpc.NewClient(e.d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(bearer(token)))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cc.Close() })
	e.breachC = cascadev1.NewBreachServiceClient(cc)
	e.noticeC = cascadev1.NewNoticeServiceClient(cc)
}

func grpcConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
