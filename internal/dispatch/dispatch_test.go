package dispatch_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/webhook"
)

func hookOrg(id breach.OrgID, url string) breach.Org {
	return breach.Org{ID: id, Name: "Org " + string(id), WebhookURL: url}
}

// TestWebhookRetriesWithBackoff: a receiver that fails with 500 three times
// gets the message on the fourth attempt, the gaps between attempts grow
// on the schedule, and every attempt is on the notice's record.
func TestWebhookRetriesWithBackoff(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
		if n < 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	h := newHarness(t, []breach.Org{hookOrg("flaky", rc.URL+"/hook")}, dispatch.Config{})
	h.secret("flaky")
	id := h.notify("flaky", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 {
			return fmt.Errorf("webhook record %+v", d)
		}
		return nil
	})
	hits := rc.all()
	if len(hits) != 4 {
		t.Fatalf("%d requests, want 4", len(hits))
	}
	for i := 1; i < len(hits); i++ {
		want := min(fast.Initial<<(i-1), fast.Max)
		if gap := hits[i].at.Sub(hits[i-1].at); gap < want*9/10 {
			t.Errorf("attempt %d came %s after the previous one, want at least %s", i+1, gap, want)
		}
		if got := hits[i].header.Get(webhook.HeaderAttempt); got != fmt.Sprint(i+1) {
			t.Errorf("attempt %d: %s header %q", i+1, webhook.HeaderAttempt, got)
		}
	}
	n := h.notice(id)
	d := channel(n, breach.ChannelWebhook)
	if d.Attempts != 4 || d.LastError != "" || d.DeliveredAt.IsZero() || n.State != breach.StateDelivered {
		t.Fatalf("record %+v, state %s", d, n.State)
	}
	want := []breach.Event{breach.EventCreated, breach.EventDelivered, breach.EventChannelFailed, breach.EventChannelFailed,
		breach.EventChannelFailed, breach.EventChannelDelivered}
	if got := h.events(id); !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}

// TestWebhookSignaturesAndIdempotencyKey: every attempt carries the
// message's Ed25519 signature headers (verifiable with the published keys
// and the Cascade-Subject), an HMAC with the organisation's secret, and
// the same Idempotency-Key.
func TestWebhookSignaturesAndIdempotencyKey(t *testing.T) {
	var secret atomic.Value
	var keys atomic.Value
	var problems atomic.Value
	problems.Store("")
	rc := newReceiver(t, func(n int, r *http.Request, body []byte) int {
		var errs []string
		if err := webhook.Verify(r.Header.Get(webhook.HeaderSignature), body, secret.Load().(string), time.Now(), webhook.DefaultTolerance); err != nil {
			errs = append(errs, err.Error())
		}
		// Standard Webhooks, computed here as the specification says.
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret.Load().(string), "whsec_"))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
		mac.Write(body)
		if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); r.Header.Get("webhook-signature") != want ||
			r.Header.Get("webhook-id") != r.Header.Get(webhook.HeaderIdempotencyKey) {
			errs = append(errs, fmt.Sprintf("webhook-signature %q, want %q; webhook-id %q", r.Header.Get("webhook-signature"), want, r.Header.Get("webhook-id")))
		}
		if _, err := signing.Verify(keys.Load().(signing.KeySet), r.Header.Get(webhook.HeaderSubject), headerOf(r.Header), body, time.Now()); err != nil {
			errs = append(errs, "ed25519: "+err.Error())
		}
		if len(errs) > 0 {
			problems.Store(strings.Join(errs, "; "))
			return http.StatusUnauthorized
		}
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusAccepted
	})
	h := newHarness(t, []breach.Org{hookOrg("signed", rc.URL)}, dispatch.Config{})
	secret.Store(h.secret("signed"))
	keys.Store(h.keys())
	id := h.notify("signed", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		if p := problems.Load().(string); p != "" {
			return errors.New(p)
		}
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 {
			return fmt.Errorf("webhook record %+v", d)
		}
		return nil
	})
	if p := problems.Load().(string); p != "" {
		t.Fatal(p)
	}
	hits := rc.all()
	if len(hits) != 3 {
		t.Fatalf("%d requests, want 3", len(hits))
	}
	for _, hi := range hits {
		if k := hi.header.Get(webhook.HeaderIdempotencyKey); k != id.String()+"/notice/1" {
			t.Errorf("Idempotency-Key %q", k)
		}
		if hi.header.Get("Cascade-Event") != "notice" || hi.header.Get("Cascade-Notice-Id") != id.String() ||
			hi.header.Get(webhook.HeaderSubject) != "cascade.notice.signed" || hi.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", hi.header)
		}
	}
	// The body is the NATS message's, byte for byte.
	js := h.st.JetStream()
	s, err := js.Stream(ctx(t), store.StreamNotices)
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx(t), "cascade.notice.signed")
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != string(hits[2].body) {
		t.Fatal("the webhook body differs from the NATS message")
	}
}

// headerOf converts HTTP headers to the NATS form signing.Verify reads.
func headerOf(h http.Header) map[string][]string {
	out := map[string][]string{}
	for k, v := range h {
		out[k] = v
	}
	return out
}

// TestWebhookSlowReceiver: an attempt that gets no answer in time fails
// and is retried.
func TestWebhookSlowReceiver(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc := newReceiver(t, func(n int, r *http.Request, _ []byte) int {
		if n == 0 {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
		}
		return http.StatusOK
	})
	h := newHarness(t, []breach.Org{hookOrg("slow", rc.URL)}, dispatch.Config{Webhook: webhook.NewClient(webhook.Config{Timeout: 300 * time.Millisecond, AllowPrivate: true})})
	h.secret("slow")
	id := h.notify("slow", false)
	var failed string
	testkit.Eventually(t, 20*time.Second, func() error {
		es, err := h.st.History(ctx(t), id)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Change.Event == breach.EventChannelFailed {
				failed = e.Change.Detail
			}
		}
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 || d.Attempts != 2 {
			return fmt.Errorf("webhook record %+v", d)
		}
		return nil
	})
	if !strings.Contains(failed, "no answer within 300ms") || !strings.Contains(failed, "attempt 1") {
		t.Fatalf("failed attempt recorded as %q", failed)
	}
}

// TestWebhookDeadLetter: a receiver that always fails: after the schedule
// the message is given up on, the vendor sees a dead letter, the notice
// records it, and the message is settled (no more attempts).
func TestWebhookDeadLetter(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusServiceUnavailable })
	logs := &logBuffer{}
	h := newHarness(t, []breach.Org{hookOrg("down", rc.URL+"/hook?token=s3cret")}, dispatch.Config{Log: logs.logger()})
	h.secret("down")
	id := h.notify("down", false)
	var dls []store.DeadLetterEntry
	testkit.Eventually(t, 20*time.Second, func() error {
		var err error
		dls, _, err = h.ch.DeadLetters(ctx(t), "", "", 0, 100)
		if err != nil || len(dls) == 0 {
			return fmt.Errorf("no dead letter yet (%v)", err)
		}
		return nil
	})
	if len(dls) != 1 {
		t.Fatalf("%d dead letters", len(dls))
	}
	dl := dls[0]
	if dl.NoticeID != id || dl.Channel != breach.ChannelWebhook || dl.Event != "notice" || dl.MessageID != id.String()+"/notice/1" ||
		dl.Attempts < fast.MinAttempts || !strings.Contains(dl.LastError, "HTTP 503") || dl.Destination != rc.URL+"/hook" ||
		dl.At.Sub(dl.PublishedAt) < fast.GiveUp {
		t.Fatalf("dead letter %+v", dl)
	}
	if strings.Contains(fmt.Sprintf("%+v", dl), "s3cret") {
		t.Fatal("the dead letter shows the URL's query")
	}
	// Filters: by breach and organisation, and another organisation's is empty.
	if got, _, _ := h.ch.DeadLetters(ctx(t), "B-1", "down", 0, 100); len(got) != 1 {
		t.Fatalf("filtered: %d", len(got))
	}
	if got, _, _ := h.ch.DeadLetters(ctx(t), "", "other", 0, 100); len(got) != 0 {
		t.Fatalf("other organisation: %d", len(got))
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		n := h.notice(id)
		d := channel(n, breach.ChannelWebhook)
		if d.DeadLettered != 1 || d.Delivered != 0 {
			return fmt.Errorf("record %+v", d)
		}
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumPending != 0 {
			return fmt.Errorf("consumer: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		}
		return nil
	})
	if got := h.events(id); got[len(got)-1] != breach.EventChannelDeadLettered {
		t.Fatalf("history %v", got)
	}
	// Logged once, as a warning, with the breach, organisation, channel and reason.
	if got := logs.lines("level=WARN", "given up on", "breach_id=B-1", "org_id=down", "channel=webhook", "HTTP 503"); len(got) != 1 {
		t.Fatalf("dead letter logged %d times:\n%s", len(got), strings.Join(logs.lines("given up"), "\n"))
	}
}

func consumerInfo(h *harness) (*jetstream.ConsumerInfo, error) {
	c, err := h.st.JetStream().Consumer(ctx(h.t), store.StreamNotices, dispatch.ConsumerName)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx(h.t))
}

// TestWebhookNotAllowed: a webhook URL Cascade may not post to (plain http
// to a public host, from a registry written before the rule) is given up
// on at once; retrying cannot help.
func TestWebhookNotAllowed(t *testing.T) {
	h := newHarness(t, []breach.Org{hookOrg("plain", "http://hooks.example.org/hook")}, dispatch.Config{
		Backoff: dispatch.Backoff{Initial: time.Hour, GiveUp: 24 * time.Hour}})
	h.secret("plain")
	id := h.notify("plain", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		dls, _, err := h.ch.DeadLetters(ctx(t), "", "plain", 0, 10)
		if err != nil || len(dls) != 1 {
			return fmt.Errorf("dead letters %v, %v", dls, err)
		}
		if dls[0].Attempts != 1 || !strings.Contains(dls[0].LastError, "https://") {
			return fmt.Errorf("dead letter %+v", dls[0])
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.DeadLettered != 1 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
}

// TestWebhookWithoutSecret: no secret issued yet: the attempt fails with
// what the vendor must do, and succeeds once the secret exists.
func TestWebhookWithoutSecret(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{hookOrg("nosecret", rc.URL)}, dispatch.Config{
		Backoff: dispatch.Backoff{Initial: 200 * time.Millisecond, Max: 200 * time.Millisecond, GiveUp: time.Hour}})
	id := h.notify("nosecret", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); !strings.Contains(d.LastError, "cascadectl webhook secret --org nosecret") {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	h.secret("nosecret")
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	if len(rc.all()) != 1 {
		t.Fatalf("%d requests", len(rc.all()))
	}
}

// TestWebhookPlainSecretRefused: a webhook secret planted in clear in
// the bucket (someone who knows it could forge requests) never signs: the
// attempts fail with the reason and nothing is posted, until the vendor
// issues a new secret, which signs.
func TestWebhookPlainSecretRefused(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{hookOrg("planted", rc.URL)}, dispatch.Config{
		Backoff: dispatch.Backoff{Initial: 200 * time.Millisecond, Max: 200 * time.Millisecond, GiveUp: time.Hour}})
	kv, err := h.st.JetStream().KeyValue(ctx(t), store.BucketWebhookSecrets)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx(t), "planted", []byte(`{"org_id":"planted","secret":"whsec_planted","created_at":"2025-08-23T14:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	id := h.notify("planted", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Attempts < 2 || !strings.Contains(d.LastError, "webhook secret of planted refused: stored in clear") {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	if d := channel(h.notice(id), breach.ChannelWebhook); strings.Contains(d.LastError, "whsec_planted") {
		t.Fatalf("the error shows the secret: %s", d.LastError)
	}
	if n := len(rc.all()); n != 0 {
		t.Fatalf("%d requests with a planted secret", n)
	}
	secret := h.secret("planted")
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	reqs := rc.all()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	sig := reqs[0].header.Get(webhook.HeaderSignature)
	if err := webhook.Verify(sig, reqs[0].body, secret, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Fatalf("the new secret does not verify the request: %v", err)
	}
	if err := webhook.Verify(sig, reqs[0].body, "whsec_planted", time.Now(), webhook.DefaultTolerance); err == nil {
		t.Fatal("the planted secret verifies the request")
	}
}

// TestRetriesSurviveRestart: the dispatcher stops (a daemon restart)
// while a message waits for its retry; a new one takes the retry over
// from JetStream and delivers it, and the message's attempt count goes on.
func TestRetriesSurviveRestart(t *testing.T) {
	var up atomic.Bool
	rc := newReceiver(t, func(int, *http.Request, []byte) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusBadGateway
	})
	h := newHarness(t, []breach.Org{hookOrg("restart", rc.URL)}, dispatch.Config{
		Backoff: dispatch.Backoff{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond, GiveUp: time.Hour}})
	h.secret("restart")
	id := h.notify("restart", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Attempts < 2 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	h.stopDispatcher()
	up.Store(true)
	h.srv.Restart() // the broker too
	h.startDispatcher()
	testkit.Eventually(t, 30*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 1 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	hits := rc.all()
	last := hits[len(hits)-1]
	if n := last.header.Get(webhook.HeaderAttempt); n == "1" || last.status != http.StatusOK {
		t.Fatalf("the delivery after the restart is attempt %s (status %d): the retry state was lost", n, last.status)
	}
}

// TestChannelOnlyClock: an organisation without the NATS channel: its
// notice stays PENDING until the first successful webhook delivery, which
// is its delivered_at (deadline = delivered_at + window), and the hook that
// arms its timers is called with the delivered notice.
func TestChannelOnlyClock(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request, _ []byte) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	var armed atomic.Pointer[breach.Notice]
	org := hookOrg("hookonly", rc.URL)
	org.Channels = []breach.Channel{breach.ChannelWebhook}
	h := newHarness(t, []breach.Org{org}, dispatch.Config{OnDelivered: func(_ context.Context, n *breach.Notice) error {
		armed.Store(n)
		return nil
	}})
	h.secret("hookonly")
	id := h.notify("hookonly", true)
	testkit.Eventually(t, 20*time.Second, func() error {
		if armed.Load() == nil {
			return fmt.Errorf("timers not armed; notice %s", h.notice(id).State)
		}
		return nil
	})
	n := h.notice(id)
	d := channel(n, breach.ChannelWebhook)
	if n.State != breach.StateDelivered || !n.DeliveredAt.Equal(d.DeliveredAt) || !n.Deadline.Equal(d.DeliveredAt.Add(window)) || d.Attempts != 2 {
		t.Fatalf("notice %s delivered %v deadline %v; webhook record %+v", n.State, n.DeliveredAt, n.Deadline, d)
	}
	if hits := rc.all(); n.DeliveredAt.Before(hits[1].at) {
		t.Fatalf("delivered_at %v is before the successful request %v", n.DeliveredAt, hits[1].at)
	}
	if a := armed.Load(); a.State != breach.StateDelivered || !a.Deadline.Equal(n.Deadline) {
		t.Fatalf("hook got %+v", a)
	}
	want := []breach.Event{breach.EventCreated, breach.EventChannelFailed, breach.EventDelivered}
	if got := h.events(id); !slices.Equal(got, want) {
		t.Fatalf("history %v, want %v", got, want)
	}
}

// TestNoChannels: messages to organisations with only the NATS channel
// are not even handed to the dispatcher (its consumer is filtered to the
// organisations it has work for) and leave no record.
func TestNoChannels(t *testing.T) {
	h := newHarness(t, []breach.Org{{ID: "natsonly", Name: "N"}}, dispatch.Config{})
	waitFilter(t, h, "cascade.notice._none")
	id := h.notify("natsonly", false)
	info, err := consumerInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Consumer != 0 || info.NumPending != 0 || info.NumAckPending != 0 {
		t.Fatalf("the dispatcher was handed a message of an organisation without channels: %+v", info)
	}
	if got := h.events(id); !slices.Equal(got, []breach.Event{breach.EventCreated, breach.EventDelivered}) {
		t.Fatalf("history %v", got)
	}
}

// TestFilteredToOrgsWithWork: of a fan-out to organisations with and
// without a webhook, the dispatcher is handed exactly the messages of
// those with one.
func TestFilteredToOrgsWithWork(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{hookOrg("hook-a", rc.URL), {ID: "plain-b", Name: "B"}, hookOrg("hook-c", rc.URL), {ID: "plain-d", Name: "D"}}, dispatch.Config{})
	h.secret("hook-a")
	h.secret("hook-c")
	waitFilter(t, h, "cascade.notice.hook-a", "cascade.notice.hook-c")
	for _, o := range []breach.OrgID{"hook-a", "plain-b", "hook-c", "plain-d"} {
		h.notify(o, false)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		if n := len(rc.all()); n != 2 {
			return fmt.Errorf("%d webhook requests", n)
		}
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.AckFloor.Consumer != 2 {
			return fmt.Errorf("consumer: ack floor %d, %d unacknowledged", info.AckFloor.Consumer, info.NumAckPending)
		}
		return nil
	})
	info, err := consumerInfo(h)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delivered.Consumer != 2 {
		t.Fatalf("dispatcher handed %d messages, want the 2 of the organisations with a webhook", info.Delivered.Consumer)
	}
}

// TestMessageKinds: reminders are delivered too, after the publisher's own
// record of them (no collision on the ledger).
func TestMessageKinds(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{hookOrg("kinds", rc.URL)}, dispatch.Config{})
	h.secret("kinds")
	id := h.notify("kinds", false)
	n := h.notice(id)
	at := time.Now()
	if _, err := h.pub.Send(ctx(t), []delivery.Outgoing{delivery.ReminderMessage(testBreach, n, 24*time.Hour, at, false, false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.UpdateNotice(ctx(t), id, "cascade", at, func(n *breach.Notice) (breach.Event, error) {
		return n.Remind(24*time.Hour, at, at, false), nil
	}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		if d := channel(h.notice(id), breach.ChannelWebhook); d.Delivered != 2 {
			return fmt.Errorf("record %+v", d)
		}
		return nil
	})
	var events []string
	for _, hi := range rc.all() {
		events = append(events, hi.header.Get("Cascade-Event"))
	}
	slices.Sort(events)
	if !slices.Equal(events, []string{"notice", "reminder"}) {
		t.Fatalf("events %v", events)
	}
	got := h.events(id)
	if i := slices.Index(got, breach.EventReminded); i < 0 || !slices.Contains(got[i:], breach.EventChannelDelivered) {
		t.Fatalf("history %v", got)
	}
}

// TestRegistryChanges: the dispatcher follows the registry: an
// organisation that gets a webhook later has its later messages delivered
// there, and not the ones stored before.
func TestRegistryChanges(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{{ID: "later", Name: "L"}}, dispatch.Config{})
	waitFilter(t, h, "cascade.notice._none")
	first := h.notify("later", false)
	if err := h.st.PutOrgs(ctx(t), []breach.Org{hookOrg("later", rc.URL)}); err != nil {
		t.Fatal(err)
	}
	h.secret("later")
	waitFilter(t, h, "cascade.notice.later")
	remindAndCheck(t, h, rc, first)
}

// TestChannelAddedWhileStopped: an organisation that got a webhook while
// no dispatcher ran is sent the messages stored after one started, not
// its history.
func TestChannelAddedWhileStopped(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	h := newHarness(t, []breach.Org{{ID: "later", Name: "L"}}, dispatch.Config{})
	waitFilter(t, h, "cascade.notice._none")
	h.stopDispatcher()
	first := h.notify("later", false)
	if err := h.st.PutOrgs(ctx(t), []breach.Org{hookOrg("later", rc.URL)}); err != nil {
		t.Fatal(err)
	}
	h.secret("later")
	h.startDispatcher()
	waitFilter(t, h, "cascade.notice.later")
	remindAndCheck(t, h, rc, first)
}

// remindAndCheck sends a reminder for id and checks that the webhook gets
// it, and that the earlier notice message was settled without reaching
// the webhook.
func remindAndCheck(t *testing.T, h *harness, rc *receiver, id breach.NoticeID) {
	t.Helper()
	if _, err := h.pub.Send(ctx(t), []delivery.Outgoing{delivery.ReminderMessage(testBreach, h.notice(id), 24*time.Hour, time.Now(), false, false)}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream != 2 || len(rc.all()) == 0 {
			return fmt.Errorf("ack floor %d, %d webhook requests", info.AckFloor.Stream, len(rc.all()))
		}
		return nil
	})
	hits := rc.all()
	if len(hits) != 1 || hits[0].header.Get("Cascade-Event") != "reminder" {
		var evs []string
		for _, hi := range hits {
			evs = append(evs, hi.header.Get("Cascade-Event"))
		}
		t.Fatalf("webhook got %v, want only the reminder", evs)
	}
}

// waitFilter waits until the dispatcher's consumer is filtered to subjects.
func waitFilter(t *testing.T, h *harness, subjects ...string) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, func() error {
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if !slices.Equal(info.Config.FilterSubjects, subjects) {
			return fmt.Errorf("filter %v, want %v", info.Config.FilterSubjects, subjects)
		}
		return nil
	})
}
