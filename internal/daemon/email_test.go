package daemon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/cascadehq/cascade/internal/email"
	"github.com/cascadehq/cascade/internal/natstest"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// smtpRelay is a real SMTP server (github.com/emersion/go-smtp) on
// loopback offering STARTTLS with a self-signed certificate and PLAIN
// authentication.
type smtpRelay struct {
	addr   string
	caFile string
	mu     sync.Mutex
	msgs   []string
	tls    []bool
	rcpts  [][]string // each message's recipients (RCPT TO), in order
}

type smtpSession struct {
	r    *smtpRelay
	c    *smtp.Conn
	auth bool
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "cascade" || pass != "relay-secret" {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	_, isTLS := s.c.TLSConnectionState()
	s.r.mu.Lock()
	s.r.msgs, s.r.tls, s.r.rcpts = append(s.r.msgs, string(b)), append(s.r.tls, isTLS), append(s.r.rcpts, s.to)
	s.r.mu.Unlock()
	s.to = nil
	return err
}
func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T) *smtpRelay {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	r := &smtpRelay{caFile: filepath.Join(t.TempDir(), "relay-ca.pem")}
	if err := os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{r: r, c: c}, nil }))
	srv.Domain, srv.ErrorLog = "relay.test", log.New(io.Discard, "", 0)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
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
	opts.SMTP = email.Options{Addr: relay.addr, From: "Cascade <cascade@vendor.example>", Username: "cascade", PasswordFile: pw, CAFile: relay.caFile}
	e := start(t, opts)
	e.publish(report("MAIL-1", "org-mail"))
	var n *cascadev1.Notice
	natstest.Eventually(t, 20*time.Second, func() error {
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
	relay.mu.Lock()
	msgs, viaTLS := relay.msgs, relay.tls
	relay.mu.Unlock()
	if len(msgs) != 1 || !viaTLS[0] {
		t.Fatalf("%d e-mails, TLS %v", len(msgs), viaTLS)
	}
	for _, want := range []string{"Subject: Personal data breach: Test breach [MAIL-1/org-mail]", "Content-Language: en",
		"Idempotency-Key: MAIL-1/org-mail/notice/1", "filename=" + email.AttachmentName} {
		if !strings.Contains(msgs[0], want) {
			t.Errorf("e-mail lacks %q", want)
		}
	}

	// Bad settings stop the daemon at start, with the reason.
	bad := options(t)
	bad.SMTP = email.Options{Addr: relay.addr, From: "not an address"}
	if _, err := startErr(bad); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Fatalf("bad --smtp-from: %v", err)
	}
	bad.SMTP = email.Options{From: "c@vendor.example"}
	if _, err := startErr(bad); err == nil || !strings.Contains(err.Error(), "--smtp-addr") {
		t.Fatalf("--smtp-from without --smtp-addr: %v", err)
	}
}
