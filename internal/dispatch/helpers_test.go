package dispatch_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/webhook"
)

// fast is a retry schedule for tests: 50 ms doubling to 200 ms, given up
// after a second and at least three attempts, no jitter (the gaps are
// checked).
var fast = dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, GiveUp: time.Second, MinAttempts: 3} // Jitter 0

const window = 72 * time.Hour

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// harness is a real JetStream with Cascade's store, a signing key ring, a
// publisher and a dispatcher, without the rest of the daemon: notify plays
// the intake's part.
type harness struct {
	t    *testing.T
	srv  *natstest.Server
	st   *store.Store
	ch   *store.Channels
	ring *signing.Ring
	pub  *delivery.Publisher
	cfg  dispatch.Config

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, orgs []breach.Org, cfg dispatch.Config) *harness {
	t.Helper()
	h := &harness{t: t, srv: natstest.Start(t)}
	nc := h.srv.Connect()
	var err error
	if h.st, err = store.Open(ctx(t), nc, store.Config{}, testLogger()); err != nil {
		t.Fatal(err)
	}
	if h.ch, err = h.st.OpenChannels(ctx(t), store.WebhookSealing{Key: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.PutOrgs(ctx(t), orgs); err != nil {
		t.Fatal(err)
	}
	if h.ring, err = signing.OpenRing(ctx(t), h.st.JetStream(), 1, time.Now, 0, signing.Sealing{Key: make([]byte, 32)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.ring.Close)
	if h.pub, err = delivery.NewPublisher(ctx(t), h.st, h.ring); err != nil {
		t.Fatal(err)
	}
	if cfg.Backoff == (dispatch.Backoff{}) {
		cfg.Backoff = fast
	}
	if cfg.Webhook == nil {
		// The receivers listen on loopback.
		cfg.Webhook = webhook.NewClient(webhook.Config{AllowPrivate: true})
	}
	cfg.Window = window
	if cfg.Log == nil {
		cfg.Log = testLogger()
	}
	h.cfg = cfg
	h.startDispatcher()
	t.Cleanup(h.stopDispatcher)
	return h
}

// startDispatcher runs a new dispatcher, as a (re)started daemon does.
func (h *harness) startDispatcher() {
	h.t.Helper()
	d := dispatch.New(h.st, h.ch, h.cfg)
	if err := d.Prepare(ctx(h.t)); err != nil {
		h.t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(c) }()
	h.mu.Lock()
	h.cancel, h.done = cancel, done
	h.mu.Unlock()
}

func (h *harness) stopDispatcher() {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel = nil
	h.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// secret issues a webhook secret for org, of the Standard Webhooks form
// ("whsec_" and base64 of 32 bytes).
func (h *harness) secret(org breach.OrgID) string {
	h.t.Helper()
	key := sha256.Sum256([]byte("test secret of " + org))
	w, err := h.ch.RotateWebhookSecret(ctx(h.t), org, "whsec_"+base64.StdEncoding.EncodeToString(key[:]), time.Now(), time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return w.Secret
}

// keys is the public key set.
func (h *harness) keys() signing.KeySet { return signing.KeySet{Keys: h.ring.Public()} }

var testBreach = &breach.Breach{ID: "B-1", Report: breach.Report{ID: "B-1", Processor: "Exempel HR-system AB", Title: "Test breach",
	Nature: "copied database", DiscoveredAt: time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC), Contact: breach.Contact{Email: "sec@example.org"}}}

// notify does what the intake does for one organisation: record the
// notice, publish it on cascade.notice.<org>, and (unless its clock starts
// on a channel) record the NATS delivery.
func (h *harness) notify(org breach.OrgID, clockOnChannel bool) breach.NoticeID {
	h.t.Helper()
	id := breach.NewNoticeID(testBreach.ID, org)
	n := breach.Notice{ID: id, OrgName: string(org), State: breach.StatePending, CreatedAt: time.Now(), ClockOnChannel: clockOnChannel}
	res, err := h.st.AppendChanges(ctx(h.t), []store.Change{{Event: breach.EventCreated, At: n.CreatedAt, Actor: "cascade", Notice: n}}, []uint64{0})
	if err != nil || res[0].Conflict {
		h.t.Fatalf("create notice: %v %v", err, res)
	}
	at := time.Now()
	out, err := h.pub.Send(ctx(h.t), []delivery.Outgoing{delivery.NoticeMessage(testBreach, &n, 1, at, window)})
	if err != nil {
		h.t.Fatal(err)
	}
	if !clockOnChannel {
		if _, err := h.st.UpdateNotice(ctx(h.t), id, "cascade", at, func(n *breach.Notice) (breach.Event, error) {
			return n.Deliver(out[0].SentAt, window, 1), nil
		}); err != nil {
			h.t.Fatal(err)
		}
	}
	return id
}

// notice reads a notice.
func (h *harness) notice(id breach.NoticeID) *breach.Notice {
	h.t.Helper()
	v, err := h.st.GetNotice(ctx(h.t), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return v.Notice
}

// events lists a notice's history events.
func (h *harness) events(id breach.NoticeID) []breach.Event {
	h.t.Helper()
	es, err := h.st.History(ctx(h.t), id)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []breach.Event
	for _, e := range es {
		out = append(out, e.Change.Event)
	}
	return out
}

// hit is one request a test webhook received.
type hit struct {
	at     time.Time
	header http.Header
	body   []byte
	status int
}

// receiver is a real HTTP server on loopback whose answer to the n-th
// request (0-based) respond decides.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request, body []byte) int) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.hits)
		rc.hits = append(rc.hits, hit{at: time.Now(), header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		status := respond(n, r, body)
		rc.mu.Lock()
		rc.hits[n].status = status
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// channel returns a notice's record of channel c, or a zero one.
func channel(n *breach.Notice, c breach.Channel) breach.ChannelDelivery {
	if d := n.ChannelDelivery(c); d != nil {
		return *d
	}
	return breach.ChannelDelivery{}
}

// logBuffer collects a dispatcher's log lines (text handler), safe for
// concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines are the logged lines that contain every one of subs.
func (l *logBuffer) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		ok := line != ""
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			out = append(out, line)
		}
	}
	return out
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
