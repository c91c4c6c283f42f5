// Package webhook delivers Cascade's messages to an organisation's webhook:
// an HTTPS POST of the message's JSON body, exactly as published on
// cascade.notice.<org_id>, with the message's Ed25519 Cascade-Signature
// headers, an Idempotency-Key that stays the same across retries, and an
// HMAC-SHA256 signature with the organisation's own secret:
//
//	Cascade-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
//
// During a secret rotation the header carries one v1 per valid secret, the
// newest first. A receiver checks that one v1 matches with its secret and
// that t is recent (Verify does both), then answers 2xx; anything else is a
// failure that is retried. Only the status of a failed answer is kept
// (e.g. "HTTP 500 Internal Server Error"), never the receiver's text: the
// errors end up where controllers read them.
//
// Webhooks cannot reach inside: every connection is checked after DNS
// resolution, against the address it really goes to (AllowedIP), so
// loopback, private, link-local (cloud metadata), CGNAT, multicast and other
// non-global addresses are refused whatever name points there; proxies from
// the environment are not used. Config.AllowPrivate (cascaded
// --webhook-allow-private, development only) lifts that. Only https URLs are
// accepted, and http to a loopback host, with AllowPrivate.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a webhook request besides the message's own Cascade-* headers.
const (
	// HeaderSignature is Cascade's own HMAC signature header, deprecated
	// in favour of the Standard Webhooks headers below; it is still sent
	// during the transition.
	HeaderSignature      = "Cascade-Webhook-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderSubject is the NATS subject the message was published on,
	// which its Ed25519 Cascade-Signature covers.
	HeaderSubject = "Cascade-Subject"
	// HeaderAttempt counts the attempts to deliver this message (1, 2, ...).
	HeaderAttempt = "Cascade-Delivery-Attempt"
)

// Standard Webhooks headers (https://www.standardwebhooks.com, version
// 1.0.0): the message's id (its Idempotency-Key, the same on every retry),
// the attempt's time in unix seconds, and the space-delimited
// "v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>" signatures, one
// per valid secret, where key is the secret after "whsec_", base64-decoded.
const (
	HeaderStandardID        = "Webhook-Id"
	HeaderStandardTimestamp = "Webhook-Timestamp"
	HeaderStandardSignature = "Webhook-Signature"
)

// Defaults.
const (
	DefaultTimeout   = 30 * time.Second // one attempt, response included
	DefaultTolerance = 5 * time.Minute  // how old a signature Verify accepts
	SecretPrefix     = "whsec_"
	// maxDrain bounds what is read of an answer's body (and discarded),
	// to reuse the connection; a longer body closes it.
	maxDrain = 4 << 10
)

// ErrNotAllowed: the URL is not one Cascade posts to (not https, and not
// http to a loopback host), or its address is one webhooks may not reach
// (an *AddressError). Retrying does not help.
var ErrNotAllowed = errors.New("webhook URL not allowed")

// NewSecret returns a new random webhook secret: "whsec_" and 32 random
// bytes in standard base64 (with padding), the Standard Webhooks form: the
// webhook-signature key is those 32 bytes, the (deprecated)
// Cascade-Webhook-Signature key the whole string.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// StandardKey is the Standard Webhooks HMAC key of secret: what follows
// "whsec_", standard base64 decoded. Secrets issued before Cascade sent
// Standard Webhooks headers are base64url without padding and have none
// (ok false): they sign Cascade-Webhook-Signature only, until rotated.
func StandardKey(secret string) (key []byte, ok bool) {
	rest, found := strings.CutPrefix(secret, SecretPrefix)
	if !found {
		return nil, false
	}
	key, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || len(key) < 24 {
		return nil, false
	}
	return key, true
}

// SignStandard is the Standard Webhooks webhook-signature value of the
// message id at t with body: one "v1,<base64>" per secret that has a
// standard key, space-delimited; "" if none has.
func SignStandard(secrets []string, id string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var sigs []string
	for _, s := range secrets {
		if key, ok := StandardKey(s); ok {
			sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(standardMAC(key, id, ts, body)))
		}
	}
	return strings.Join(sigs, " ")
}

func standardMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// VerifyStandard checks a request's Standard Webhooks headers against
// body and the receiver's secret: one v1 signature of
// "<webhook-id>.<webhook-timestamp>.<body>" must match, and the timestamp
// must be within tolerance of now. It is what a receiver in Go runs (the
// standardwebhooks libraries do the same in other languages).
func VerifyStandard(h http.Header, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get(HeaderStandardID), h.Get(HeaderStandardTimestamp), h.Get(HeaderStandardSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("missing %s, %s or %s", HeaderStandardID, HeaderStandardTimestamp, HeaderStandardSignature)
	}
	key, ok := StandardKey(secret)
	if !ok {
		return fmt.Errorf("the secret is not whsec_<standard base64> (rotate it: cascadectl webhook secret --org ID)")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: not unix seconds", HeaderStandardTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s: %s is more than %s from now", HeaderStandardTimestamp, time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := standardMAC(key, id, ts, body)
	for _, sig := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(sig, ",")
		if !ok || v != "v1" {
			continue
		}
		if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%s: no v1 signature matches this secret, id, timestamp and body", HeaderStandardSignature)
}

// Sign is the Cascade-Webhook-Signature value for body at t, with one v1
// per secret.
func Sign(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Cascade-Webhook-Signature header against body and the
// receiver's secret: one v1 must match, and t must be within tolerance of
// now (so a captured request cannot be replayed later).
func Verify(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%s: malformed part %q", HeaderSignature, clip(part, 40))
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if s, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, s)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: no valid t=", HeaderSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s: timestamp %s is more than %s from now", HeaderSignature, time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%s: no v1 signature matches this secret and body", HeaderSignature)
}

// CheckURL parses a webhook URL and checks its form: https, or http to a
// loopback host (which a Client reaches only with AllowPrivate). The
// address is checked when connecting.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: not an absolute URL", ErrNotAllowed)
	}
	switch {
	case u.User != nil:
		return nil, fmt.Errorf("%w: %s holds a user name or password", ErrNotAllowed, Redact(u))
	case u.Scheme == "https":
		return u, nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return u, nil
	}
	return nil, fmt.Errorf("%w: %s: webhooks must be https:// (http:// only to a loopback host such as 127.0.0.1, for development with %s)", ErrNotAllowed, Redact(u), AllowPrivateFlag)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact is the URL without user information, query and fragment: what
// may appear in logs, errors and dead letters (a query may hold a token).
func Redact(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// Config configures a Client.
type Config struct {
	// Timeout of one attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// TLS configures the client side of TLS (e.g. RootCAs for a private CA
	// or a test server); nil means the system's roots.
	TLS *tls.Config
	// Now is the clock of the signature timestamps; nil means time.Now.
	Now func() time.Time
	// AllowPrivate lets webhooks reach loopback, private, link-local and
	// other non-global addresses (AllowedIP), and http:// to a loopback
	// host: development and tests only. Unspecified, multicast and
	// broadcast addresses stay refused.
	AllowPrivate bool
}

// Client posts messages to webhooks.
type Client struct {
	http         *http.Client
	timeout      time.Duration
	now          func() time.Time
	allowPrivate bool
}

// NewClient returns a client. It never follows redirects: a 3xx answer is
// a failure (a redirect would post the notice somewhere the organisation
// did not register). It connects directly, never through a proxy, and only
// to addresses AllowedIP accepts (unless cfg.AllowPrivate).
func NewClient(cfg Config) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{timeout: cfg.Timeout, now: cfg.Now, allowPrivate: cfg.AllowPrivate}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// No proxy: the address checked is the one connected to.
	tr.Proxy = nil
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: c.control}).DialContext
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tlsCfg = cfg.TLS.Clone()
		if tlsCfg.MinVersion < tls.VersionTLS12 {
			tlsCfg.MinVersion = tls.VersionTLS12
		}
	}
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 4
	c.http = &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// Request is one message to post.
type Request struct {
	URL     string
	Body    []byte      // the message body, unchanged
	Header  http.Header // the message's Cascade-* headers, Idempotency-Key, Cascade-Subject
	Secrets []string    // the organisation's valid secrets, newest first; at least one
	Attempt int         // 1 for the first attempt
}

// Post delivers r: it succeeds on a 2xx answer. Errors never contain the
// URL's query, the secrets or the receiver's answer (only its status); an
// error wrapping ErrNotAllowed (such as an *AddressError) will not go away
// by retrying.
func (c *Client) Post(ctx context.Context, r Request) error {
	u, err := CheckURL(r.URL)
	if err != nil {
		return err
	}
	if u.Scheme == "http" && !c.allowPrivate {
		return fmt.Errorf("%w: %s: http:// (to a loopback host) is for development only, with %s; webhooks must be https://", ErrNotAllowed, Redact(u), AllowPrivateFlag)
	}
	if len(r.Secrets) == 0 {
		return errors.New("no webhook secret to sign with")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(r.Body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", Redact(u), unwrapURL(err))
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Cascade-Webhook/1")
	if r.Attempt > 0 {
		req.Header.Set(HeaderAttempt, strconv.Itoa(r.Attempt))
	}
	now := c.now()
	req.Header.Set(HeaderSignature, Sign(r.Secrets, now, r.Body))
	if id := r.Header.Get(HeaderIdempotencyKey); id != "" && !strings.Contains(id, ".") {
		if sig := SignStandard(r.Secrets, id, now, r.Body); sig != "" {
			req.Header.Set(HeaderStandardID, id)
			req.Header.Set(HeaderStandardTimestamp, strconv.FormatInt(now.Unix(), 10))
			req.Header.Set(HeaderStandardSignature, sig)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ae *AddressError
		if errors.As(err, &ae) {
			return fmt.Errorf("POST %s: %w", Redact(u), ae)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("POST %s: no answer within %s", Redact(u), c.timeout)
		}
		return fmt.Errorf("POST %s: %w", Redact(u), &transportError{err: unwrapURL(err)})
	}
	defer resp.Body.Close()
	// The body is never read into anything: what a receiver writes must not
	// reach the notice, its history or a dead letter (controllers read
	// them). A little is discarded so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("POST %s: %s", Redact(u), statusLine(resp.StatusCode))
}

// statusLine is "HTTP <code> <standard reason>": the reason phrase is
// Go's, not the receiver's, which could carry any text.
func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("HTTP %d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// unwrapURL drops the *url.Error wrapper, whose text repeats the full URL
// (query included).
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
