package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/webhook"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// hookServer is a real HTTP server on loopback that records every request
// and answers with status(n) for the n-th (0-based).
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	at     time.Time
	header http.Header
	status int
}

func newHookServer(t *testing.T, status func(n int) int) *hookServer {
	s := &hookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		n := len(s.reqs)
		code := status(n)
		s.reqs = append(s.reqs, hookRequest{at: time.Now(), header: r.Header.Clone(), status: code})
		s.mu.Unlock()
		w.WriteHeader(code)
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

	e.publish(report("HOOK-1", "org-hook", "org-down", "org-nats"))
	var n *cascadev1.Notice
	natstest.Eventually(t, 20*time.Second, func() error {
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
	natstest.Eventually(t, 20*time.Second, func() error {
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

	// The broken webhook: dead letters for the vendor; NATS delivery stands.
	var dls []*cascadev1.DeadLetter
	natstest.Eventually(t, 20*time.Second, func() error {
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
