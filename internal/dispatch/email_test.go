package dispatch_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
)

// startMailbox runs a real SMTP server on loopback that refuses the first
// failFirst recipients with a temporary error. STARTTLS is tested in
// package email; here the relay is plain, which the relay settings allow
// for loopback only.
func startMailbox(t *testing.T, failFirst int32) *testkit.SMTP {
	var rcpts atomic.Int32
	return testkit.StartSMTP(t, testkit.SMTPConfig{Rcpt: func(string) error {
		if rcpts.Add(1) <= failFirst {
			return &smtp.SMTPError{Code: 451, Message: "try again later"}
		}
		return nil
	}})
}

// TestWebhookAndEmail: an organisation with both channels (the default
// with a webhook URL and an e-mail address). The relay refuses twice; the
// retries send e-mail only: the webhook, reached at once, is not repeated.
func TestWebhookAndEmail(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	mb := startMailbox(t, 2)
	org := breach.Org{ID: "both", Name: "Båda kommun", WebhookURL: rc.URL, DPOEmail: "dpo@both.example.org", Locale: "sv"}
	h := newHarness(t, []breach.Org{org}, dispatch.Config{Relay: &email.Relay{Addr: mb.Addr, From: "cascade@vendor.example", AllowPlainLoopback: true}})
	h.secret("both")
	id := h.notify("both", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		n := h.notice(id)
		if e := channel(n, breach.ChannelEmail); e.Delivered != 1 {
			return fmt.Errorf("e-mail record %+v", e)
		}
		return nil
	})
	n := h.notice(id)
	if w, e := channel(n, breach.ChannelWebhook), channel(n, breach.ChannelEmail); w.Attempts != 1 || w.Delivered != 1 || e.Attempts != 3 {
		t.Fatalf("webhook %+v, e-mail %+v", w, e)
	}
	if hits := rc.all(); len(hits) != 1 {
		t.Fatalf("the webhook got %d requests, want 1", len(hits))
	}
	msgs := mb.Mails()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Data), "Idempotency-Key: "+id.String()+"/notice/1") ||
		!strings.Contains(string(msgs[0].Data), "Content-Language: sv") {
		t.Fatalf("mail: %d messages\n%+v", len(msgs), msgs)
	}
	testkit.Eventually(t, 10*time.Second, func() error {
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 {
			return fmt.Errorf("%d unacknowledged", info.NumAckPending)
		}
		return nil
	})
	if done, err := h.ch.Progress(ctx(t), 1); err != nil || done != nil {
		t.Fatalf("progress of a settled message: %v, %v", done, err)
	}
}

// TestEmailNotConfigured: without a relay, an organisation whose registry
// row names email gets "not configured" on its notice and one dead letter
// for the vendor, once; one that has e-mail only by default gets nothing
// recorded.
func TestEmailNotConfigured(t *testing.T) {
	named := breach.Org{ID: "named", Name: "N", DPOEmail: "dpo@named.example.org", Channels: []breach.Channel{breach.ChannelNATS, breach.ChannelEmail}}
	implicit := breach.Org{ID: "implicit", Name: "I", DPOEmail: "dpo@implicit.example.org"}
	logs := &logBuffer{}
	h := newHarness(t, []breach.Org{named, implicit}, dispatch.Config{Log: logs.logger()})
	nid, iid := h.notify("named", false), h.notify("implicit", false)
	n := h.notice(nid)
	at := time.Now()
	if _, err := h.pub.Send(ctx(t), []delivery.Outgoing{delivery.ReminderMessage(testBreach, n, time.Hour, at, false, false)}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		info, err := consumerInfo(h)
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 || info.AckFloor.Stream != 3 {
			return fmt.Errorf("consumer: %d pending, %d unacknowledged, ack floor %d", info.NumPending, info.NumAckPending, info.AckFloor.Stream)
		}
		return nil
	})
	if e := channel(h.notice(nid), breach.ChannelEmail); !strings.Contains(e.NotConfigured, "--smtp-addr") || e.Attempts != 0 || e.DeadLettered != 1 {
		t.Fatalf("named: %+v", e)
	}
	if got := h.events(nid); !slices.Equal(got, []breach.Event{breach.EventCreated, breach.EventDelivered, breach.EventChannelDeadLettered}) {
		t.Fatalf("named: history %v", got)
	}
	if got := h.events(iid); !slices.Equal(got, []breach.Event{breach.EventCreated, breach.EventDelivered}) {
		t.Fatalf("implicit: history %v", got)
	}
	// The vendor sees it among the dead letters: once per notice (the
	// notice, not again for the reminder), none for the implicit channel.
	dls, _, err := h.ch.DeadLetters(ctx(t), "", "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 1 {
		t.Fatalf("dead letters = %+v, want one for the named organisation's notice", dls)
	}
	if dl := dls[0].DeadLetter; dl.NoticeID != nid || dl.Channel != breach.ChannelEmail || dl.Event != message.EventNotice ||
		!strings.Contains(dl.LastError, "--smtp-addr") || dl.Destination != "dpo@named.example.org" {
		t.Fatalf("dead letter = %+v", dl)
	}
	if got := logs.lines("level=WARN", "given up on", "breach_id=B-1", "org_id=named", "channel=email", "--smtp-addr"); len(got) != 1 {
		t.Fatalf("dead letter logged %d times:\n%s", len(got), strings.Join(logs.lines("given up"), "\n"))
	}
}

// TestNATSHeadersStayInNATS: the stored message carries NATS's own headers
// (Nats-Msg-Id, and Nats-Batch-Id and the like of an atomic batch); neither
// the webhook request nor the e-mail nor its attachment carries any of
// them, and the attachment still verifies (the Ed25519 signature covers
// the subject, Cascade-Notice-Id, Cascade-Event and the body).
func TestNATSHeadersStayInNATS(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request, []byte) int { return http.StatusOK })
	mb := startMailbox(t, 0)
	org := breach.Org{ID: "muni", Name: "Kommun", WebhookURL: rc.URL, DPOEmail: "dpo@muni.example.org", Locale: "en"}
	h := newHarness(t, []breach.Org{org}, dispatch.Config{Relay: &email.Relay{Addr: mb.Addr, From: "cascade@vendor.example", AllowPlainLoopback: true}})
	h.secret("muni")
	id := h.notify("muni", false)
	testkit.Eventually(t, 20*time.Second, func() error {
		n := h.notice(id)
		if e, w := channel(n, breach.ChannelEmail), channel(n, breach.ChannelWebhook); e.Delivered != 1 || w.Delivered != 1 {
			return fmt.Errorf("e-mail %+v, webhook %+v", e, w)
		}
		return nil
	})
	s, err := h.st.JetStream().Stream(ctx(t), store.StreamNotices)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.GetLastMsgForSubject(ctx(t), "cascade.notice.muni")
	if err != nil {
		t.Fatal(err)
	}
	var natsHeaders []string
	for k := range stored.Header {
		if message.IsNATSInternal(k) {
			natsHeaders = append(natsHeaders, k)
		}
	}
	if len(natsHeaders) == 0 {
		t.Fatalf("the stored message has no Nats-* header to keep back: %v", stored.Header)
	}
	for k := range rc.all()[0].header {
		if message.IsNATSInternal(k) {
			t.Errorf("the webhook request carries %s", k)
		}
	}
	raw := mb.Mails()[0].Data
	if strings.Contains(strings.ToLower(string(raw)), "nats-") {
		t.Errorf("the e-mail carries a Nats-* header:\n%s", raw)
	}
	att := attachment(t, raw)
	var saved signing.SavedMessage
	if err := saved.Unmarshal(att); err != nil {
		t.Fatal(err)
	}
	for k := range saved.Headers {
		if message.IsNATSInternal(k) {
			t.Errorf("the attachment carries %s (stored: %v)", k, natsHeaders)
		}
	}
	if _, err := saved.Verify(h.keys(), time.Now()); err != nil {
		t.Fatalf("the attachment does not verify: %v", err)
	}
}

// attachment is the decoded cascade-message.json of a raw e-mail.
func attachment(t *testing.T, raw []byte) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment: %v", err)
		}
		if p.FileName() != email.AttachmentName {
			continue
		}
		data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
}
