package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)

func TestSignVerify(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != len(SecretPrefix)+44 {
		t.Fatalf("secret %q", secret)
	}
	body := []byte(`{"event":"notice"}`)
	h := Sign([]string{secret}, t0, body)
	if err := Verify(h, body, secret, t0.Add(time.Minute), DefaultTolerance); err != nil {
		t.Fatalf("genuine request: %v", err)
	}
	for name, check := range map[string]func() error{
		"changed body":   func() error { return Verify(h, []byte(`{"event":"overdue"}`), secret, t0, DefaultTolerance) },
		"other secret":   func() error { return Verify(h, body, "whsec_other", t0, DefaultTolerance) },
		"replayed later": func() error { return Verify(h, body, secret, t0.Add(time.Hour), DefaultTolerance) },
		"no timestamp":   func() error { return Verify("v1=00", body, secret, t0, DefaultTolerance) },
		"garbage":        func() error { return Verify("garbage", body, secret, t0, DefaultTolerance) },
	} {
		if check() == nil {
			t.Errorf("%s: verified", name)
		}
	}
	// During a rotation both secrets sign.
	old := "whsec_old"
	both := Sign([]string{secret, old}, t0, body)
	if strings.Count(both, "v1=") != 2 {
		t.Fatalf("two secrets: %s", both)
	}
	for _, s := range []string{secret, old} {
		if err := Verify(both, body, s, t0, DefaultTolerance); err != nil {
			t.Errorf("rotation, secret %s: %v", s[:8], err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.org/cascade?token=x", true},
		{"http://127.0.0.1:8080/hook", true},
		{"http://localhost/hook", true},
		{"http://[::1]:9/hook", true},
		{"http://hooks.example.org/hook", false},
		{"ftp://hooks.example.org/", false},
		{"https://user:pw@hooks.example.org/", false},
		{"/relative", false},
		{"https://", false},
	} {
		_, err := CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q) = %v", tc.url, err)
		}
		if err != nil && !errors.Is(err, ErrNotAllowed) {
			t.Errorf("CheckURL(%q): %v does not wrap ErrNotAllowed", tc.url, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("CheckURL(%q) shows the password: %v", tc.url, err)
		}
	}
}

func TestPost(t *testing.T) {
	secret := "whsec_test"
	body := []byte(`{"event":"notice","notice_id":"B/a"}`)
	var status atomic.Int32
	status.Store(http.StatusNoContent)
	var got atomic.Pointer[http.Request]
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		if err := Verify(r.Header.Get(HeaderSignature), b, secret, time.Now(), DefaultTolerance); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got.Store(r)
		if s := int(status.Load()); s == http.StatusFound {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", s)
			return
		}
		w.WriteHeader(int(status.Load()))
		_, _ = io.WriteString(w, "receiver says\nno\x1b[31m")
	}))
	defer srv.Close()
	c := NewClient(Config{AllowPrivate: true})
	h := http.Header{}
	h.Set("Cascade-Event", "notice")
	h.Set(HeaderIdempotencyKey, "B/a/notice/1")
	req := Request{URL: srv.URL + "/hook?token=s3cret", Body: body, Header: h, Secrets: []string{secret}, Attempt: 2}
	if err := c.Post(context.Background(), req); err != nil {
		t.Fatalf("2xx: %v", err)
	}
	r := got.Load()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get(HeaderIdempotencyKey) != "B/a/notice/1" ||
		r.Header.Get("Cascade-Event") != "notice" || r.Header.Get(HeaderAttempt) != "2" || r.URL.Query().Get("token") != "s3cret" {
		t.Fatalf("request: %s %v %v", r.Method, r.URL, r.Header)
	}

	status.Store(http.StatusInternalServerError)
	err := c.Post(context.Background(), req)
	if err == nil || err.Error() != "POST "+srv.URL+"/hook: HTTP 500 Internal Server Error" {
		t.Fatalf("500: %v", err)
	}
	before := hits.Load()
	status.Store(http.StatusFound)
	if err := c.Post(context.Background(), req); err == nil || err.Error() != "POST "+srv.URL+"/hook: HTTP 302 Found" {
		t.Fatalf("a redirect is a failure, not followed: %v", err)
	}
	if n := hits.Load() - before; n != 1 {
		t.Fatalf("a redirect: %d requests, want 1 (not followed)", n)
	}
	if err := c.Post(context.Background(), Request{URL: req.URL, Body: body}); err == nil {
		t.Fatal("posted without a secret")
	}
	if err := c.Post(context.Background(), Request{URL: "http://hooks.example.org/", Body: body, Secrets: []string{secret}}); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("plain http to a public host: %v", err)
	}
	// Plain http to loopback is for development: not without AllowPrivate.
	strict := NewClient(Config{})
	before = hits.Load()
	if err := strict.Post(context.Background(), req); !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "--webhook-allow-private") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("plain http to loopback without AllowPrivate: %v", err)
	}
	if hits.Load() != before {
		t.Fatal("plain http to loopback without AllowPrivate reached the receiver")
	}
}

func TestPostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewClient(Config{Timeout: 100 * time.Millisecond, AllowPrivate: true})
	err := c.Post(context.Background(), Request{URL: srv.URL + "/?k=secret", Body: []byte("{}"), Secrets: []string{"whsec_x"}})
	if err == nil || !strings.Contains(err.Error(), "no answer within 100ms") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("slow receiver: %v", err)
	}
}

// standardSignature computes a webhook-signature entry as the Standard
// Webhooks specification describes it, independently of this package:
// HMAC-SHA256 over "<id>.<timestamp>.<body>" with the base64-decoded part of
// the secret after "whsec_", base64-encoded, after "v1,".
func standardSignature(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestStandardWebhooks: the reference vector of the Standard Webhooks
// libraries; a real request carries webhook-id (the Idempotency-Key),
// webhook-timestamp and webhook-signature that an independent computation
// accepts, beside the deprecated Cascade-Webhook-Signature; a replay with
// another webhook-id, body or an old timestamp fails; a secret of the
// earlier base64url form signs the Cascade header only.
func TestStandardWebhooks(t *testing.T) {
	const (
		vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	vecBody, vecAt := []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0)
	if got := SignStandard([]string{vecSecret}, vecID, vecAt, vecBody); got != vecSig {
		t.Fatalf("reference vector: %s, want %s", got, vecSig)
	}
	vh := http.Header{}
	vh.Set("webhook-id", vecID)
	vh.Set("webhook-timestamp", "1614265330")
	vh.Set("webhook-signature", vecSig)
	if err := VerifyStandard(vh, vecBody, vecSecret, vecAt, DefaultTolerance); err != nil {
		t.Fatalf("reference vector does not verify: %v", err)
	}

	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	legacy := "whsec_" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Store(struct {
			h    http.Header
			body []byte
		}{r.Header.Clone(), body})
	}))
	t.Cleanup(srv.Close)
	type req = struct {
		h    http.Header
		body []byte
	}
	c := NewClient(Config{AllowPrivate: true, Now: func() time.Time { return t0 }})
	body := []byte(`{"event":"notice","notice_id":"B-1/se-kommun-0180"}`)
	const id = "B-1/se-kommun-0180/notice/1"
	hdr := http.Header{HeaderIdempotencyKey: {id}}
	if err := c.Post(context.Background(), Request{URL: srv.URL, Body: body, Header: hdr, Secrets: []string{secret, legacy}, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	r := got.Load().(req)
	ts := r.h.Get("webhook-timestamp")
	if r.h.Get("webhook-id") != id || ts != "1755957600" {
		t.Fatalf("webhook-id %q, webhook-timestamp %q", r.h.Get("webhook-id"), ts)
	}
	// One v1 for the standard secret; the legacy one has no standard key.
	if want := standardSignature(t, secret, id, ts, body); r.h.Get("webhook-signature") != want {
		t.Fatalf("webhook-signature %q, want %q (computed per the specification)", r.h.Get("webhook-signature"), want)
	}
	if err := VerifyStandard(r.h, r.body, secret, t0, DefaultTolerance); err != nil {
		t.Fatal(err)
	}
	// The deprecated header still signs, with both secrets.
	for _, s := range []string{secret, legacy} {
		if err := Verify(r.h.Get(HeaderSignature), r.body, s, t0, DefaultTolerance); err != nil {
			t.Fatalf("Cascade-Webhook-Signature, secret %s…: %v", s[:10], err)
		}
	}
	// Replays: another message id (the same body and signature), another
	// body, later than the tolerance, another secret.
	changed := r.h.Clone()
	changed.Set("webhook-id", "B-1/se-kommun-0180/notice/2")
	if err := VerifyStandard(changed, r.body, secret, t0, DefaultTolerance); err == nil {
		t.Fatal("a replay with another webhook-id verified")
	}
	if standardSignature(t, secret, changed.Get("webhook-id"), ts, body) == r.h.Get("webhook-signature") {
		t.Fatal("the signature does not cover webhook-id")
	}
	for name, check := range map[string]func() error{
		"changed body":   func() error { return VerifyStandard(r.h, []byte(`{"event":"overdue"}`), secret, t0, DefaultTolerance) },
		"replayed later": func() error { return VerifyStandard(r.h, r.body, secret, t0.Add(time.Hour), DefaultTolerance) },
		"other secret":   func() error { return VerifyStandard(r.h, r.body, vecSecret, t0, DefaultTolerance) },
		"legacy secret":  func() error { return VerifyStandard(r.h, r.body, legacy, t0, DefaultTolerance) },
	} {
		if check() == nil {
			t.Errorf("%s: verified", name)
		}
	}

	// Only a legacy secret: no Standard Webhooks headers, the Cascade one stays.
	if err := c.Post(context.Background(), Request{URL: srv.URL, Body: body, Header: hdr, Secrets: []string{legacy}, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	r = got.Load().(req)
	if r.h.Get("webhook-signature") != "" || r.h.Get("webhook-id") != "" || Verify(r.h.Get(HeaderSignature), r.body, legacy, t0, DefaultTolerance) != nil {
		t.Fatalf("legacy secret: %v", r.h)
	}
}
