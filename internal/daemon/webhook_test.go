package daemon_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/webhook"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// hookServer is a real HTTP server on loopback that records every request
// and answers with status(n) for the n-th (0-based); a failure's body holds
// hookLeak, which must never reach a controller.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
}

const hookLeak = "internal-db-password=hunter2"

type hookRequest struct {
	at     time.Time
	header http.Header
	status int
	body   []byte
}

func newHookServer(t *testing.T, status func(n int) int) *hookServer {
	s := &hookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		code := status(n)
		s.reqs = append(s.reqs, hookRequest{at: time.Now(), header: r.Header.Clone(), status: code, body: body})
		s.mu.Unlock()
		w.WriteHeader(code)
		if code >= 300 {
			_, _ = io.WriteString(w, "upstream error: "+hookLeak+"\n")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hookServer) requests() []hookRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hookRequest(nil), s.reqs...)
}

// TestWebhookOnlyOrganisation: an organisation whose only channel is its
// webhook gets its notice there; its clock starts at the first successful
// webhook delivery (delivered_at, deadline), its reminders follow from that
// time and reach the webhook too. A webhook that never answers 2xx ends in
// a dead letter the vendor lists over gRPC, while that organisation's NATS
// delivery stands.
func TestWebhookOnlyOrganisation(t *testing.T) {
	hook := newHookServer(t, func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	down := newHookServer(t, func(int) int { return http.StatusBadGateway })
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\n"+
		"org-hook,Webhook only,"+hook.URL+"/cascade,webhook\n"+
		"org-down,NATS and a broken webhook,"+down.URL+"/cascade,\n"+
		"org-nats,NATS only,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.Deadline = 4 * time.Second
	opts.Remind = []time.Duration{2 * time.Second}
	opts.Redeliver = []time.Duration{}
	opts.DispatchBackoff = dispatch.Backoff{Initial: 50 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: time.Second, MinAttempts: 3}
	opts.WebhookAllowPrivate = true // the receivers listen on loopback
	e := start(t, opts)
	ds := cascadev1.NewDeliveryServiceClient(grpcConn(t, e.d.GRPCAddr()))
	for _, org := range []string{"org-hook", "org-down"} {
		r, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: org})
		if err != nil || len(r.GetSecret()) < 40 {
			t.Fatalf("webhook secret for %s: %v", org, err)
		}
	}
	_, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: "org-unknown"})
	wantCode(t, err, "NotFound")
	// An organisation without a webhook: FailedPrecondition naming the
	// registry column, unless the secret is prepared in advance.
	_, err = ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: "org-nats"})
	wantCode(t, err, "FailedPrecondition")
	if st := status.Convert(err); !strings.Contains(st.Message(), "no webhook_url") || !strings.Contains(st.Message(), "prepare") ||
		len(st.Details()) != 1 || !strings.Contains(st.Details()[0].(*errdetails.PreconditionFailure).GetViolations()[0].GetSubject(), "column webhook_url") {
		t.Fatalf("no webhook: %v %v", st.Message(), st.Details())
	}
	if r, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: "org-nats", Prepare: true}); err != nil || !r.GetPrepared() || r.GetSecret() == "" {
		t.Fatalf("prepared secret: %v %v", r, err)
	}

	e.publish(report("HOOK-1", "org-hook", "org-down", "org-nats"))
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: "HOOK-1/org-hook"})
		if err != nil {
			return err
		}
		if n = r.GetNotice(); n.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED {
			return fmt.Errorf("webhook-only notice is %v", n.GetState())
		}
		return nil
	})
	if len(n.GetChannels()) != 1 {
		t.Fatalf("channels %v", n.GetChannels())
	}
	wh := n.GetChannels()[0]
	reqs := hook.requests()
	if wh.GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK || wh.GetAttempts() != 2 || len(reqs) < 2 || reqs[1].status != http.StatusOK {
		t.Fatalf("webhook record %v; %d requests", wh, len(reqs))
	}
	delivered := n.GetDeliveredAt().AsTime()
	if !delivered.Equal(wh.GetDeliveredAt().AsTime()) || delivered.Before(reqs[1].at) || delivered.Sub(reqs[1].at) > 5*time.Second {
		t.Fatalf("delivered_at %v; first webhook success %v (received %v)", delivered, wh.GetDeliveredAt().AsTime(), reqs[1].at)
	}
	if !n.GetDeadline().AsTime().Equal(delivered.Add(opts.Deadline)) {
		t.Fatalf("deadline %v, want %v", n.GetDeadline().AsTime(), delivered.Add(opts.Deadline))
	}
	if reqs[0].header.Get(webhook.HeaderIdempotencyKey) != reqs[1].header.Get(webhook.HeaderIdempotencyKey) {
		t.Fatal("the Idempotency-Key changed between attempts")
	}

	// The reminder follows from the webhook delivery and reaches the webhook.
	testkit.Eventually(t, 20*time.Second, func() error {
		n = getNotice(t, e.noticeC, "HOOK-1/org-hook")
		if len(n.GetReminders()) != 1 {
			return fmt.Errorf("reminders %v", n.GetReminders())
		}
		for _, r := range hook.requests() {
			if r.header.Get("Cascade-Event") == "reminder" && r.status == http.StatusOK {
				return nil
			}
		}
		return fmt.Errorf("the webhook has not had the reminder")
	})
	if sent := n.GetReminders()[0].GetSentAt().AsTime(); sent.Before(delivered.Add(2 * time.Second)) {
		t.Fatalf("reminder sent %v, before delivered_at %v + 2s", sent, delivered)
	}
	// As docs/delivery.md says: the first notice has no delivered_at and no
	// deadline but clock; the reminder has both, as the notice has them.
	var first, reminder map[string]any
	for _, r := range hook.requests() {
		var m map[string]any
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		switch {
		case m["event"] == "notice" && first == nil:
			first = m
		case m["event"] == "reminder" && reminder == nil:
			reminder = m
		}
	}
	wantClock := fmt.Sprintf("your deadline is %s after the first successful delivery of this notice to your webhook or e-mail", opts.Deadline)
	if _, has := first["delivered_at"]; has || first["deadline"] != nil || first["clock"] != wantClock {
		t.Fatalf("first notice body: delivered_at %v, deadline %v, clock %q", first["delivered_at"], first["deadline"], first["clock"])
	}
	if reminder["clock"] != nil || reminder["delivered_at"] != delivered.Format(time.RFC3339Nano) ||
		reminder["deadline"] != n.GetDeadline().AsTime().Format(time.RFC3339Nano) {
		t.Fatalf("reminder body: delivered_at %v (notice %v), deadline %v (notice %v), clock %v", reminder["delivered_at"], delivered,
			reminder["deadline"], n.GetDeadline().AsTime(), reminder["clock"])
	}

	// The broken webhook: dead letters for the vendor; NATS delivery stands.
	var dls []*cascadev1.DeadLetter
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := ds.ListDeadLetters(ctx(t), &cascadev1.ListDeadLettersRequest{BreachId: "HOOK-1", OrgId: "org-down"})
		if err != nil {
			return err
		}
		if dls = r.GetDeadLetters(); len(dls) == 0 {
			return fmt.Errorf("no dead letter yet")
		}
		return nil
	})
	dl := dls[0]
	if dl.GetNoticeId() != "HOOK-1/org-down" || dl.GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_WEBHOOK || dl.GetEvent() != "notice" ||
		dl.GetAttempts() < 3 || dl.GetDestination() != down.URL+"/cascade" || dl.GetMessageId() != "HOOK-1/org-down/notice/1" {
		t.Fatalf("dead letter %v", dl)
	}
	// The receiver's answer is not echoed: the status only.
	if want := "POST " + down.URL + "/cascade: HTTP 502 Bad Gateway"; dl.GetLastError() != want {
		t.Fatalf("dead letter's last error %q, want %q", dl.GetLastError(), want)
	}
	if d := getNotice(t, e.noticeC, "HOOK-1/org-down"); len(d.GetChannels()) != 1 || strings.Contains(d.GetChannels()[0].GetLastError(), "hunter2") ||
		!strings.Contains(d.GetChannels()[0].GetLastError(), "HTTP 502 Bad Gateway") {
		t.Fatalf("org-down's channel record %v", d.GetChannels())
	}
	if d := getNotice(t, e.noticeC, "HOOK-1/org-down"); d.GetDeliveredAt() == nil || d.GetDeliveryCount() < 1 {
		t.Fatalf("org-down: NATS delivery not recorded: %v", d)
	}
	if r, err := ds.ListDeadLetters(ctx(t), &cascadev1.ListDeadLettersRequest{OrgId: "org-hook"}); err != nil || len(r.GetDeadLetters()) != 0 {
		t.Fatalf("org-hook dead letters: %v, %v", r, err)
	}
	if nn := getNotice(t, e.noticeC, "HOOK-1/org-nats"); len(nn.GetChannels()) != 0 {
		t.Fatalf("NATS-only organisation has channel records %v", nn.GetChannels())
	}
}

// TestWebhookPrivateAddressRefused: without --webhook-allow-private a
// webhook on a loopback address (a real HTTPS receiver, by IP and by the
// name localhost) or on the cloud metadata address is refused when
// connecting: the message is dead-lettered at its first attempt with the
// reason, listed over gRPC and on the notice, and the receiver sees
// nothing. Plain http to loopback is refused too.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	var hits sync.Mutex
	n := 0
	count := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Lock(); n++; hits.Unlock() })
	tlsHook := httptest.NewTLSServer(count)
	t.Cleanup(tlsHook.Close)
	plainHook := httptest.NewServer(count)
	t.Cleanup(plainHook.Close)
	port := tlsHook.URL[strings.LastIndex(tlsHook.URL, ":")+1:]
	const hint = ": refused (set --webhook-allow-private for development)"
	want := map[string]string{
		"org-loop":  "POST " + tlsHook.URL + "/cascade: webhook address 127.0.0.1 is loopback" + hint,
		"org-name":  "is loopback" + hint, // 127.0.0.1 or ::1, as localhost resolves
		"org-meta":  "POST https://169.254.169.254/latest/meta-data/: webhook address 169.254.169.254 is link-local (cloud metadata lives here)" + hint,
		"org-plain": "webhook URL not allowed: " + plainHook.URL + "/cascade: http:// (to a loopback host) is for development only, with --webhook-allow-private; webhooks must be https://",
	}
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\n"+
		"org-loop,Loopback,"+tlsHook.URL+"/cascade?token=s3cret,webhook\n"+
		"org-name,Localhost,https://localhost:"+port+"/cascade,webhook\n"+
		"org-meta,Metadata,https://169.254.169.254/latest/meta-data/,webhook\n"+
		"org-plain,Plain http,"+plainHook.URL+"/cascade,webhook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	// A retry would come after an hour: a dead letter here is the first attempt's.
	opts.DispatchBackoff = dispatch.Backoff{Initial: time.Hour, Max: time.Hour, GiveUp: 24 * time.Hour, MinAttempts: 3}
	e := start(t, opts)
	ds := cascadev1.NewDeliveryServiceClient(grpcConn(t, e.d.GRPCAddr()))
	for org := range want {
		if _, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: org}); err != nil {
			t.Fatalf("webhook secret for %s: %v", org, err)
		}
	}
	e.publish(report("PRIV-1", "org-loop", "org-name", "org-meta", "org-plain"))
	for org, w := range want {
		var dl *cascadev1.DeadLetter
		testkit.Eventually(t, 20*time.Second, func() error {
			r, err := ds.ListDeadLetters(ctx(t), &cascadev1.ListDeadLettersRequest{BreachId: "PRIV-1", OrgId: org})
			if err != nil {
				return err
			}
			if len(r.GetDeadLetters()) != 1 {
				return fmt.Errorf("%s: dead letters %v", org, r.GetDeadLetters())
			}
			dl = r.GetDeadLetters()[0]
			return nil
		})
		if got := dl.GetLastError(); dl.GetAttempts() != 1 || (got != w && !(org == "org-name" && strings.HasSuffix(got, w))) || strings.Contains(got, "s3cret") {
			t.Errorf("%s: dead letter after %d attempts: %q, want %q", org, dl.GetAttempts(), got, w)
		}
		// The notice is recorded just after the dead letter is stored.
		testkit.Eventually(t, 10*time.Second, func() error {
			nt := getNotice(t, e.noticeC, "PRIV-1/"+org)
			if c := nt.GetChannels(); nt.GetState() != cascadev1.NoticeState_NOTICE_STATE_PENDING || len(c) != 1 ||
				c[0].GetLastError() != dl.GetLastError() || c[0].GetDeadLettered() != 1 {
				return fmt.Errorf("%s: notice %v, channels %v", org, nt.GetState(), c)
			}
			return nil
		})
	}
	hits.Lock()
	defer hits.Unlock()
	if n != 0 {
		t.Fatalf("the loopback receivers got %d requests", n)
	}
}
