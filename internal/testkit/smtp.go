package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message the SMTP server accepted.
type Mail struct {
	From string
	To   []string // the recipients (RCPT TO), in order
	Data []byte
	TLS  bool   // sent after STARTTLS
	User string // the authenticated user, "" if none
}

// SMTPConfig configures StartSMTP; the zero value is a plain server that
// accepts everything.
type SMTPConfig struct {
	// TLS, if set, is offered with STARTTLS.
	TLS *tls.Config
	// Username and Password, if set, are the one PLAIN login offered
	// (after STARTTLS). RequireAuth refuses MAIL before a login.
	Username, Password string
	RequireAuth        bool
	// Rcpt, if set, decides each recipient: an error (an *smtp.SMTPError
	// for a chosen code) refuses it.
	Rcpt func(to string) error
}

// SMTP is a real SMTP server (github.com/emersion/go-smtp) on loopback.
type SMTP struct {
	Addr  string
	cfg   SMTPConfig
	mu    sync.Mutex
	mails []Mail
}

// StartSMTP runs an SMTP server on a free loopback port, with domain
// relay.test, until the test ends.
func StartSMTP(t testing.TB, cfg SMTPConfig) *SMTP {
	t.Helper()
	s := &SMTP{cfg: cfg}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		base := &smtpSession{s: s, c: c}
		if cfg.Username != "" {
			return &smtpAuthSession{base}, nil
		}
		return base, nil
	}))
	srv.Domain, srv.ErrorLog = "relay.test", log.New(io.Discard, "", 0)
	srv.TLSConfig = cfg.TLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Mails is what the server accepted so far, in order.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

type smtpSession struct {
	s    *SMTP
	c    *smtp.Conn
	cur  Mail
	user string
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.cfg.RequireAuth && x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.cur.From = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.cfg.Rcpt != nil {
		if err := x.s.cfg.Rcpt(to); err != nil {
			return err
		}
	}
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	m := x.cur
	m.Data, m.User = b, x.user
	_, m.TLS = x.c.TLSConnectionState()
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, m)
	x.s.mu.Unlock()
	x.cur = Mail{}
	return err
}

func (x *smtpSession) Reset()        { x.cur = Mail{} }
func (x *smtpSession) Logout() error { return nil }

// smtpAuthSession offers PLAIN authentication.
type smtpAuthSession struct{ *smtpSession }

func (x *smtpAuthSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (x *smtpAuthSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != x.s.cfg.Username || pass != x.s.cfg.Password {
			return errors.New("invalid credentials")
		}
		x.user = user
		return nil
	}), nil
}

// SelfSigned makes a self-signed certificate for 127.0.0.1 (CN relay.test,
// valid for an hour either side of now): the server's TLS configuration,
// a pool trusting it, and the certificate in PEM.
func SelfSigned(t testing.TB) (*tls.Config, *x509.CertPool, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return srv, pool, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
