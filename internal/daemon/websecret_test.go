package daemon_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/dispatch"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
	"github.com/cascadehq/cascade/internal/webhook"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// sigReceiver is a webhook receiver on loopback that keeps every request's
// signature header and body, and answers 200.
type sigReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []sigRequest
}

type sigRequest struct {
	event, sig string
	body       []byte
}

func newSigReceiver(t *testing.T) *sigReceiver {
	r := &sigReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, sigRequest{event: req.Header.Get("Cascade-Event"), sig: req.Header.Get(webhook.HeaderSignature), body: body})
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *sigReceiver) requests() []sigRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sigRequest(nil), r.reqs...)
}

// noticeFor waits for a notice request whose body names noticeID.
func (r *sigReceiver) noticeFor(t *testing.T, noticeID string) sigRequest {
	t.Helper()
	var got sigRequest
	testkit.Eventually(t, 20*time.Second, func() error {
		for _, q := range r.requests() {
			if q.event == "notice" && bytes.Contains(q.body, []byte(`"`+noticeID+`"`)) {
				got = q
				return nil
			}
		}
		return fmt.Errorf("no webhook request for %s yet", noticeID)
	})
	return got
}

// hookOrgsFile is a registry with org-hook, whose only channel is a
// webhook to url.
func hookOrgsFile(t *testing.T, url string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(p, []byte("id,name,webhook_url,channels\norg-hook,Webhook only,"+url+"/cascade,webhook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// secretForms are the forms a secret could be stored in.
func secretForms(s string) []string {
	b := []byte(s)
	return []string{s, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), hex.EncodeToString(b)}
}

// secretIn reports whether data holds s in any of its forms, or in a JSON
// string of data decoded from base64 or hex.
func secretIn(data []byte, s string) bool {
	decoded, _ := decodedStrings(data)
	blobs := append([][]byte{data}, decoded...)
	for _, b := range blobs {
		for _, f := range secretForms(s) {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(f))) {
				return true
			}
		}
	}
	return false
}

// TestBucketReadersCannotSignWebhooks: a reader of every KV bucket (as
// the daemon's NATS user, who may read cascade-webhook-secrets) finds
// neither the current nor the previous webhook secret RotateWebhookSecret
// returned, in clear, base64 or hex; the webhook requests still verify
// with the returned secret.
func TestBucketReadersCannotSignWebhooks(t *testing.T) {
	rc := newSigReceiver(t)
	opts := options(t)
	opts.OrgsFile = hookOrgsFile(t, rc.URL)
	opts.WebhookAllowPrivate = true // the receiver listens on loopback
	e := start(t, opts)
	ds := cascadev1.NewDeliveryServiceClient(grpcConn(t, e.d.GRPCAddr()))
	var secrets []string
	for range 2 {
		r, err := ds.RotateWebhookSecret(ctx(t), &cascadev1.RotateWebhookSecretRequest{OrgId: "org-hook"})
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, r.GetSecret())
	}
	kv, err := e.js.KeyValue(ctx(t), store.BucketWebhookSecrets)
	if err != nil {
		t.Fatal(err)
	}
	entry, err := kv.Get(ctx(t), "org-hook")
	if err != nil {
		t.Fatalf("the daemon's NATS user reads the bucket: %v", err)
	}
	if !secretIn([]byte(`{"x":"`+hex.EncodeToString([]byte(secrets[0]))+`"}`), secrets[0]) {
		t.Fatal("the detector misses a secret in hex")
	}
	for _, rec := range allKVRecords(t, e.js) {
		for i, s := range secrets {
			if secretIn(rec, s) {
				t.Fatalf("webhook secret %d (of 2) is readable in a bucket record: %s", i+1, rec)
			}
		}
	}
	if !bytes.Contains(entry.Value(), []byte(`"sealed"`)) {
		t.Fatalf("the record is not the sealed form: %s", entry.Value())
	}

	e.publish(report("SEAL-1", "org-hook"))
	q := rc.noticeFor(t, "SEAL-1/org-hook")
	if err := webhook.Verify(q.sig, q.body, secrets[1], time.Now(), webhook.DefaultTolerance); err != nil {
		t.Fatalf("the request does not verify with the returned secret: %v", err)
	}
	if err := webhook.Verify(q.sig, q.body, "whsec_not-the-secret", time.Now(), webhook.DefaultTolerance); err == nil {
		t.Fatal("the request verifies with any secret")
	}
}

// TestWebhookSecretMigration: the first start with a deployment secret
// seals the webhook secret an older version stored in clear, logging it
// once; the same secret signs on. After the migration a secret in clear
// written to the bucket (by someone who then knows it) is refused: the
// delivery fails with the reason, the log names the organisation and
// never the secret, the receiver gets nothing it would accept, and
// issuing a new secret recovers.
func TestWebhookSecretMigration(t *testing.T) {
	srv := natstest.Start(t)
	rc := newSigReceiver(t)
	const old, planted = "whsec_from-an-older-version-of-cascade", "whsec_planted-by-a-writer-of-the-bucket"
	js, err := jetstream.New(srv.Connect())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: store.BucketWebhookSecrets, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	plain := func(s string) []byte {
		data, _ := json.Marshal(map[string]any{"org_id": "org-hook", "secret": s, "created_at": time.Now().UTC()})
		return data
	}
	if _, err := kv.Put(ctx(t), "org-hook", plain(old)); err != nil {
		t.Fatal(err)
	}
	sf := newSecret(t, nil)
	logs := &syncBuffer{}
	optsWith := func(w io.Writer) daemon.Options {
		o := externalOptions(t, srv, sf, slog.New(slog.NewTextHandler(io.MultiWriter(w, testWriter(t)), nil)))
		o.OrgsFile, o.WebhookAllowPrivate, o.InsecureNATSNoAuth = hookOrgsFile(t, rc.URL), true, true
		o.DispatchBackoff = dispatch.Backoff{Initial: 200 * time.Millisecond, Max: 500 * time.Millisecond, GiveUp: time.Hour}
		return o
	}
	opts := optsWith(logs)
	opts.MigrateUnsealed = true // an upgrade with a given secret file
	d, err := daemon.Start(ctx(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if out := logs.String(); !strings.Contains(out, "sealed the webhook secrets that an older version stored in clear") ||
		!strings.Contains(out, "organisations=1") {
		t.Errorf("migration not logged with its count:\n%s", out)
	}
	e, err := kv.Get(ctx(t), "org-hook")
	if err != nil {
		t.Fatal(err)
	}
	if secretIn(e.Value(), old) || !bytes.Contains(e.Value(), []byte(`"sealed"`)) {
		t.Fatalf("after the migration the record is %s", e.Value())
	}
	publish := func(id string) {
		t.Helper()
		if _, err := js.Publish(ctx(t), "cascade.breach.report", report(id, "org-hook")); err != nil {
			t.Fatal(err)
		}
	}
	publish("MIG-1")
	q := rc.noticeFor(t, "MIG-1/org-hook")
	if err := webhook.Verify(q.sig, q.body, old, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Fatalf("the migrated secret does not sign: %v", err)
	}
	d.Stop()

	// The next start migrates nothing; a secret in clear planted now is
	// refused.
	logs2 := &syncBuffer{}
	d, err = daemon.Start(ctx(t), optsWith(logs2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	if strings.Contains(logs2.String(), "sealed the webhook secrets") {
		t.Errorf("the second start migrated again:\n%s", logs2.String())
	}
	if _, err := kv.Put(ctx(t), "org-hook", plain(planted)); err != nil {
		t.Fatal(err)
	}
	vendor := strings.TrimSpace(string(readFile(t, opts.BootstrapTokenFile)))
	cc := grpcConn(t, d.GRPCAddr())
	notices := cascadev1.NewNoticeServiceClient(cc)
	publish("MIG-2")
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := notices.GetNotice(withToken(ctx(t), vendor), &cascadev1.GetNoticeRequest{NoticeId: "MIG-2/org-hook"})
		if err != nil {
			return err
		}
		if ch := r.GetNotice().GetChannels(); len(ch) != 1 || ch[0].GetAttempts() < 1 ||
			!strings.Contains(ch[0].GetLastError(), "webhook secret of org-hook refused: stored in clear") {
			return fmt.Errorf("channels %v", ch)
		}
		return nil
	})
	for _, q := range rc.requests() {
		if bytes.Contains(q.body, []byte("MIG-2")) {
			t.Fatalf("a request went out with the planted secret record: %s", q.sig)
		}
	}
	out := logs2.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "webhook secret refused") || !strings.Contains(out, "org_id=org-hook") {
		t.Errorf("the refusal is not logged with the organisation:\n%s", out)
	}
	if strings.Contains(out, planted) || strings.Contains(logs.String(), old) {
		t.Error("a webhook secret is in the log")
	}

	// Issuing a new secret replaces the planted record.
	r, err := cascadev1.NewDeliveryServiceClient(cc).RotateWebhookSecret(withToken(ctx(t), vendor),
		&cascadev1.RotateWebhookSecretRequest{OrgId: "org-hook"})
	if err != nil {
		t.Fatal(err)
	}
	q = rc.noticeFor(t, "MIG-2/org-hook")
	if err := webhook.Verify(q.sig, q.body, r.GetSecret(), time.Now(), webhook.DefaultTolerance); err != nil {
		t.Fatalf("the new secret does not sign: %v", err)
	}
	if err := webhook.Verify(q.sig, q.body, planted, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Fatal("the planted secret signs")
	}
}
