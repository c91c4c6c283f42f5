// Package email delivers Cascade's messages to an organisation by e-mail
// through the deployment's SMTP relay: STARTTLS is required (plain SMTP
// only to a loopback relay, and only when explicitly allowed), the message
// is multipart/alternative plain text and HTML in the organisation's
// language (Swedish by default, or English), and the signed message is
// attached as cascade-message.json, which cascadectl verify checks. The
// e-mail says how to acknowledge and how to check that it is genuine,
// contains no links at all, and says that Cascade never asks for
// credentials.
package email

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/message"
	"github.com/cascadehq/cascade/internal/signing"
)

// DefaultTimeout bounds one delivery to the relay.
const DefaultTimeout = time.Minute

// Header set on every e-mail besides the message's Cascade-* headers:
// the message's stable id, as on the webhook.
const HeaderIdempotencyKey = "Idempotency-Key"

// Message is one message to an organisation, to be sent by e-mail.
type Message struct {
	Msg       message.Message // the decoded body
	Subject   string          // the NATS subject it was published on
	Header    nats.Header     // its NATS headers (Cascade-Signature and the signed ones); Nats-* ones are not sent
	Body      []byte          // its body, unchanged (attached for verification)
	MessageID string          // its Nats-Msg-Id: stable across retries
	Locale    string          // the organisation's: "en" for English, else Swedish
	To        []string
	// Escalation are the addresses of To that are the organisation's
	// escalation contact (the last reminder and the overdue message go to
	// it too); the text says so.
	Escalation []string
	Date       time.Time // when this attempt is made
	// DeliveredAt and Deadline are the notice's clock as the e-mail states
	// it (for an organisation without the NATS channel the body's values
	// are those of the NATS publish, not of this delivery).
	DeliveredAt, Deadline time.Time
	// KeyID is the id of the key that signed the message; empty means read
	// it from Header.
	KeyID string
}

// Relay is the SMTP relay e-mail goes through.
type Relay struct {
	Addr     string // host:port
	From     string // sender, e.g. "Cascade <cascade@vendor.example>"
	Username string // PLAIN authentication over TLS; empty: none
	Password string
	// RootCAs verify the relay's certificate; nil means the system's roots.
	RootCAs *x509.CertPool
	// AllowPlainLoopback permits a relay on a loopback address that does not
	// offer STARTTLS (tests, development). Any other relay must offer it.
	AllowPlainLoopback bool
	Timeout            time.Duration // one delivery; 0 means DefaultTimeout
	HeloName           string        // EHLO name; empty means "localhost"
}

// Check reports what is wrong with the relay's configuration.
func (r *Relay) Check() error {
	var errs []error
	host, _, err := net.SplitHostPort(r.Addr)
	if err != nil || host == "" {
		errs = append(errs, fmt.Errorf("--smtp-addr %q is not host:port", r.Addr))
	}
	if a, err := mail.ParseAddress(r.From); err != nil || !strings.Contains(a.Address, "@") {
		errs = append(errs, fmt.Errorf("--smtp-from %q is not an e-mail address (like \"Cascade <cascade@vendor.example>\")", r.From))
	}
	if r.Password != "" && r.Username == "" {
		errs = append(errs, errors.New("an SMTP password needs --smtp-username"))
	}
	if r.AllowPlainLoopback && host != "" && !loopback(host) {
		errs = append(errs, fmt.Errorf("plain SMTP is allowed only to a loopback relay, not %q", host))
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send composes m and delivers it to the relay for m.To. It fails, without
// sending anything, when the relay does not offer STARTTLS (unless allowed
// for a loopback relay) or rejects a recipient.
func (r *Relay) Send(ctx context.Context, m *Message) error {
	from, err := mail.ParseAddress(r.From)
	if err != nil {
		return fmt.Errorf("sender %q: %w", r.From, err)
	}
	if len(m.To) == 0 {
		return errors.New("no e-mail address to send to")
	}
	data, err := Compose(from, m)
	if err != nil {
		return err
	}
	return r.send(ctx, from.Address, m.To, data)
}

func (r *Relay) send(ctx context.Context, from string, to []string, data []byte) (err error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(r.Addr)
	if err != nil {
		return fmt.Errorf("SMTP relay %q: %w", r.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("SMTP relay %s: %w", r.Addr, err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fail := func(step string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("SMTP relay %s: %s: no answer within %s", r.Addr, step, timeout)
		}
		return fmt.Errorf("SMTP relay %s: %s: %w", r.Addr, step, err)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fail("greeting", err)
	}
	defer c.Close()
	helo := r.HeloName
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fail("EHLO", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: r.RootCAs, MinVersion: tls.VersionTLS12}); err != nil {
			return fail("STARTTLS", err)
		}
	} else if !(r.AllowPlainLoopback && loopback(host)) {
		return fmt.Errorf("SMTP relay %s does not offer STARTTLS: Cascade does not send notices over an unencrypted connection", r.Addr)
	}
	if r.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", r.Username, r.Password, host)); err != nil {
			return fail("AUTH", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fail("MAIL FROM", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a); err != nil {
			return fail("RCPT TO "+a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("DATA", err)
	}
	_ = c.Quit() // the relay has accepted the message
	return nil
}

// KeyID is the signing key id of a Cascade-Signature header value
// ("v1;kid=<id>;sig=..."), or "".
func KeyID(sig string) string {
	for _, part := range strings.Split(sig, ";") {
		if id, ok := strings.CutPrefix(part, "kid="); ok {
			return id
		}
	}
	return ""
}

// MessageIDHeader is the Message-ID of the e-mail of message id msgID from
// sender domain: the same for every retry of the message.
func MessageIDHeader(msgID, domain string) string {
	sum := sha256.Sum256([]byte(msgID))
	return "<cascade." + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// Compose builds the MIME message: multipart/mixed of a
// multipart/alternative (text/plain, text/html; UTF-8, quoted-printable)
// and the signed message as the attachment cascade-message.json.
func Compose(from *mail.Address, m *Message) ([]byte, error) {
	if m.KeyID == "" {
		m.KeyID = KeyID(m.Header.Get(signing.HeaderSignature))
	}
	d := content(m)
	html, err := d.html()
	if err != nil {
		return nil, err
	}
	// The attachment is what the organisation keeps: NATS's own headers
	// (Nats-Msg-Id, Nats-Batch-Id, ...) say nothing to it and are not
	// signed; the Cascade-* headers the signature covers stay.
	saved, err := signing.SavedMessage{Subject: m.Subject, Headers: message.ForOrganisation(m.Header), Data: m.Body}.Marshal()
	if err != nil {
		return nil, err
	}
	domain := from.Address[strings.LastIndex(from.Address, "@")+1:]

	var buf bytes.Buffer
	mixed := multipart.NewWriter(&buf)
	h := []struct{ k, v string }{
		{"From", from.String()},
		{"To", strings.Join(m.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(d.Subject))},
		{"Date", m.Date.Format(time.RFC1123Z)},
		{"Message-ID", MessageIDHeader(m.MessageID, domain)},
		{"MIME-Version", "1.0"},
		{"Content-Language", d.Lang},
		{"Auto-Submitted", "auto-generated"}, // no vacation replies (RFC 3834)
		{HeaderIdempotencyKey, oneLine(m.MessageID)},
	}
	for _, k := range []string{signing.HeaderSignature, message.HeaderNoticeID, message.HeaderEvent, message.HeaderRevision} {
		if v := m.Header.Get(k); v != "" {
			h = append(h, struct{ k, v string }{k, oneLine(v)})
		}
	}
	h = append(h, struct{ k, v string }{"Content-Type", "multipart/mixed; boundary=" + mixed.Boundary()})
	for _, kv := range h {
		buf.WriteString(kv.k + ": " + kv.v + "\r\n")
	}
	buf.WriteString("\r\n")

	altHeader := textproto.MIMEHeader{}
	var alt bytes.Buffer
	aw := multipart.NewWriter(&alt)
	altHeader.Set("Content-Type", "multipart/alternative; boundary="+aw.Boundary())
	for _, p := range []struct{ typ, text string }{{"text/plain", d.plain()}, {"text/html", html}} {
		pw, err := aw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(p.text)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	pw, err := mixed.CreatePart(altHeader)
	if err != nil {
		return nil, err
	}
	if _, err := pw.Write(alt.Bytes()); err != nil {
		return nil, err
	}
	pw, err = mixed.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"application/json; name=" + AttachmentName},
		"Content-Disposition":       {"attachment; filename=" + AttachmentName},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	var lines strings.Builder
	for enc := base64.StdEncoding.EncodeToString(saved); enc != ""; {
		n := min(76, len(enc))
		lines.WriteString(enc[:n] + "\r\n")
		enc = enc[n:]
	}
	if _, err := pw.Write([]byte(lines.String())); err != nil {
		return nil, err
	}
	if err := mixed.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var htmlTemplate = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4; max-width: 48em">
<p>{{.Greeting}}</p>
{{range .Intro}}<p>{{.}}</p>
{{end}}<table style="border-collapse: collapse">
{{range .Facts}}<tr><th style="text-align: left; vertical-align: top; padding: 2px 12px 2px 0">{{.Label}}</th><td style="white-space: pre-wrap; padding: 2px 0">{{.Value}}</td></tr>
{{end}}</table>
{{range .Sections}}<h3>{{.Title}}</h3>
{{range .Paras}}<p>{{.}}</p>
{{end}}{{if .Commands}}<pre style="background: #f4f4f4; padding: 8px">{{range .Commands}}{{.}}
{{end}}</pre>
{{end}}{{range .After}}<p>{{.}}</p>
{{end}}{{end}}<p><strong>{{.Warning}}</strong></p>
<hr>
<p style="color: #555; font-size: smaller">{{.Footer}}</p>
</body>
</html>
`))

// html renders the text/html part: the same content, no links.
func (d *doc) html() (string, error) {
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render e-mail: %w", err)
	}
	return b.String(), nil
}

// Options are the relay's settings as cascaded's flags give them.
type Options struct {
	Addr, From, Username string
	PasswordFile         string // file holding the password (trailing newline ignored)
	CAFile               string // PEM certificates that verify the relay; empty: the system's roots
	AllowPlainLoopback   bool
	Timeout              time.Duration
}

// NewRelay reads the password and CA files and checks the settings.
func NewRelay(o Options) (*Relay, error) {
	r := &Relay{Addr: o.Addr, From: o.From, Username: o.Username, AllowPlainLoopback: o.AllowPlainLoopback, Timeout: o.Timeout}
	if o.PasswordFile != "" {
		data, err := readSmall(o.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-password-file: %w", err)
		}
		r.Password = strings.TrimRight(string(data), "\r\n")
	}
	if o.CAFile != "" {
		data, err := readSmall(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-ca: %w", err)
		}
		r.RootCAs = x509.NewCertPool()
		if !r.RootCAs.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("--smtp-ca %s: no PEM certificate in it", o.CAFile)
		}
	}
	if err := r.Check(); err != nil {
		return nil, err
	}
	return r, nil
}

// readSmall reads a configuration file of at most 1 MiB.
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s is larger than 1 MiB", path)
	}
	return data, nil
}
