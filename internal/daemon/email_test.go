package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// smtpRelay is a real SMTP server on loopback offering STARTTLS with a
// self-signed certificate (caFile trusts it) and requiring the PLAIN login
// cascade/relay-secret.
type smtpRelay struct {
	*testkit.SMTP
	caFile string
}

func startSMTP(t *testing.T) *smtpRelay {
	t.Helper()
	cfg, _, ca := testkit.SelfSigned(t)
	r := &smtpRelay{caFile: filepath.Join(t.TempDir(), "relay-ca.pem")}
	if err := os.WriteFile(r.caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	r.SMTP = testkit.StartSMTP(t, testkit.SMTPConfig{TLS: cfg, Username: "cascade", Password: "relay-secret", RequireAuth: true})
	return r
}

// TestEmailChannel: cascaded with --smtp-* options sends an e-mail-only
// organisation its notice in English over STARTTLS, with the relay's
// certificate trusted through --smtp-ca and the password read from
// --smtp-password-file; the e-mail delivery starts that organisation's
// clock.
func TestEmailChannel(t *testing.T) {
	relay := startSMTP(t)
	dir := t.TempDir()
	orgs, pw := filepath.Join(dir, "orgs.csv"), filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(orgs, []byte("id,name,dpo_email,locale,channels\norg-mail,Mail Ltd,dpo@mail.example.org,en,email\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("relay-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.SMTP = email.Options{Addr: relay.Addr, From: "Cascade <cascade@vendor.example>", Username: "cascade", PasswordFile: pw, CAFile: relay.caFile}
	e := start(t, opts)
	e.publish(report("MAIL-1", "org-mail"))
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: "MAIL-1/org-mail"})
		if err != nil {
			return err
		}
		if n = r.GetNotice(); n.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED {
			return fmt.Errorf("notice %v", n.GetState())
		}
		return nil
	})
	ch := n.GetChannels()
	if len(ch) != 1 || ch[0].GetChannel() != cascadev1.DeliveryChannel_DELIVERY_CHANNEL_EMAIL || ch[0].GetDelivered() != 1 ||
		!ch[0].GetDeliveredAt().AsTime().Equal(n.GetDeliveredAt().AsTime()) {
		t.Fatalf("channels %v, delivered_at %v", ch, n.GetDeliveredAt().AsTime())
	}
	msgs := relay.Mails()
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("%d e-mails, %+v", len(msgs), msgs)
	}
	for _, want := range []string{"Subject: Personal data breach: Test breach [MAIL-1/org-mail]", "Content-Language: en",
		"Idempotency-Key: MAIL-1/org-mail/notice/1", "filename=" + email.AttachmentName} {
		if !strings.Contains(string(msgs[0].Data), want) {
			t.Errorf("e-mail lacks %q", want)
		}
	}

	// Bad settings stop the daemon at start, with the reason.
	bad := options(t)
	bad.SMTP = email.Options{Addr: relay.Addr, From: "not an address"}
	if _, err := startErr(bad); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Fatalf("bad --smtp-from: %v", err)
	}
	bad.SMTP = email.Options{From: "c@vendor.example"}
	if _, err := startErr(bad); err == nil || !strings.Contains(err.Error(), "--smtp-addr") {
		t.Fatalf("--smtp-from without --smtp-addr: %v", err)
	}
}
