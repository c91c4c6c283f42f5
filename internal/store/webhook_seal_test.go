package store_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/store"
)

// testWebhookSealing seals the tests' webhook secrets.
var testWebhookSealing = store.WebhookSealing{Key: bytes.Repeat([]byte{0x3c}, 32)}

// syncBuf collects a logger's lines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretsKV is bucket cascade-webhook-secrets as anyone allowed to read
// and write it has it, bypassing Cascade.
func secretsKV(t *testing.T, st *store.Store) jetstream.KeyValue {
	t.Helper()
	kv, err := st.JetStream().KeyValue(t.Context(), store.BucketWebhookSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func rawSecret(t *testing.T, kv jetstream.KeyValue, org string) []byte {
	t.Helper()
	e, err := kv.Get(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

// holdsSecret: raw holds s in clear, base64 or hex.
func holdsSecret(raw []byte, s string) bool {
	for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)),
		hex.EncodeToString([]byte(s))} {
		if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(form))) {
			return true
		}
	}
	return false
}

// plainRecord is a record as versions before the deployment secret wrote it.
func plainRecord(t *testing.T, org, secret, previous string) []byte {
	t.Helper()
	data, err := json.Marshal(store.WebhookSecret{Org: breach.OrgID(org), Secret: secret, CreatedAt: t0,
		Previous: previous, PreviousUntil: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestWebhookSecretsSealed: the bucket holds no secret, current or
// previous, and what it holds opens only for its organisation under its
// key.
func TestWebhookSecretsSealed(t *testing.T) {
	ctx := t.Context()
	st := open(t)
	var logs syncBuf
	seal := testWebhookSealing
	seal.Log = slog.New(slog.NewTextHandler(&logs, nil))
	ch, err := st.OpenChannels(ctx, seal)
	if err != nil {
		t.Fatal(err)
	}
	for _, org := range []breach.OrgID{"a", "b"} {
		if _, err := ch.RotateWebhookSecret(ctx, org, "whsec_first_"+string(org), t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := ch.RotateWebhookSecret(ctx, org, "whsec_second_"+string(org), t0.Add(time.Minute), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	kv := secretsKV(t, st)
	rawA, rawB := rawSecret(t, kv, "a"), rawSecret(t, kv, "b")
	for _, s := range []string{"whsec_first_a", "whsec_second_a"} {
		if holdsSecret(rawA, s) {
			t.Fatalf("bucket record holds %s: %s", s, rawA)
		}
	}
	w, err := ch.WebhookSecret(ctx, "a")
	if err != nil || !slices.Equal(w.Valid(t0.Add(2*time.Minute)), []string{"whsec_second_a", "whsec_first_a"}) {
		t.Fatalf("sealed secret reads back as %v, %v", w, err)
	}

	// Another deployment secret opens nothing.
	other, err := st.OpenChannels(ctx, store.WebhookSealing{Key: bytes.Repeat([]byte{0x3d}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.WebhookSecret(ctx, "a"); err == nil || !strings.Contains(err.Error(), "does not open") {
		t.Errorf("under another key: %v", err)
	}

	// Hostile records, as a writer of the bucket puts them.
	flipped := bytes.Clone(rawA)
	flipped[len(flipped)/2] ^= 1 // inside the base64 of the ciphertext
	for _, tc := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"b's record moved to a", rawB, "does not open"},
		{"altered", flipped, "webhook secret of a"},
		{"plain", plainRecord(t, "a", "whsec_planted", ""), "refused: stored in clear"},
		{"plain for another org", plainRecord(t, "b", "whsec_planted", ""), "refused: stored in clear"},
		{"sealed and plain", []byte(`{"sealed":"AAAA","secret":"whsec_planted"}`), "both sealed and in clear"},
		{"sealed too short", []byte(`{"sealed":"AAAA"}`), "does not open"},
		{"empty plain", []byte(`{"secret":""}`), "empty"},
		{"neither", []byte(`{"org_id":"a"}`), "neither sealed nor a secret"},
		{"not JSON", []byte("whsec_planted"), "decode webhook secret of a"},
	} {
		if _, err := kv.Put(ctx, "a", tc.value); err != nil {
			t.Fatal(err)
		}
		w, err := ch.WebhookSecret(ctx, "a")
		if err == nil || !strings.Contains(err.Error(), tc.want) || w != nil {
			t.Errorf("%s: %v, %v; want %q", tc.name, w, err, tc.want)
		} else if strings.Contains(err.Error(), "whsec_") {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
		if tc.name == "plain" && !errors.Is(err, store.ErrPlainWebhookSecret) {
			t.Errorf("plain: %v is not ErrPlainWebhookSecret", err)
		}
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "org_id=a") || strings.Contains(l, "whsec_") {
		t.Errorf("refused records: log %s", l)
	}

	// Issuing a new secret replaces a refused record; the planted secret
	// does not keep signing.
	if _, err := kv.Put(ctx, "a", plainRecord(t, "a", "whsec_planted", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.RotateWebhookSecret(ctx, "a", "whsec_third_a", t0.Add(2*time.Minute), time.Hour); err != nil {
		t.Fatal(err)
	}
	w, err = ch.WebhookSecret(ctx, "a")
	if err != nil || !slices.Equal(w.Valid(t0.Add(3*time.Minute)), []string{"whsec_third_a"}) {
		t.Fatalf("after replacing the planted record: %v, %v", w, err)
	}
	if _, err := ch.RotateWebhookSecret(ctx, "a", "", t0.Add(3*time.Minute), time.Hour); err == nil {
		t.Error("empty secret: no error")
	}
}

// TestSealPlainWebhookSecrets: the migration seals the records an older
// version stored in clear, keeping current and previous secrets, once;
// it never overwrites a record it cannot read.
func TestSealPlainWebhookSecrets(t *testing.T) {
	ctx := t.Context()
	st := open(t)
	ch, err := st.OpenChannels(ctx, testWebhookSealing)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ch.SealPlainWebhookSecrets(ctx); n != 0 || err != nil {
		t.Fatalf("empty bucket: %d, %v", n, err)
	}
	kv := secretsKV(t, st)
	for _, org := range []string{"a", "b"} {
		if _, err := kv.Put(ctx, org, plainRecord(t, org, "whsec_old_"+org, "whsec_older_"+org)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ch.RotateWebhookSecret(ctx, "c", "whsec_new_c", t0, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.WebhookSecret(ctx, "a"); !errors.Is(err, store.ErrPlainWebhookSecret) {
		t.Fatalf("plain before the migration: %v", err)
	}
	if n, err := ch.SealPlainWebhookSecrets(ctx); n != 2 || err != nil {
		t.Fatalf("migration: %d, %v; want 2", n, err)
	}
	for _, org := range []string{"a", "b"} {
		raw := rawSecret(t, kv, org)
		if holdsSecret(raw, "whsec_old_"+org) || holdsSecret(raw, "whsec_older_"+org) {
			t.Fatalf("%s after the migration: %s", org, raw)
		}
		w, err := ch.WebhookSecret(ctx, breach.OrgID(org))
		if err != nil || !slices.Equal(w.Valid(t0), []string{"whsec_old_" + org, "whsec_older_" + org}) || !w.CreatedAt.Equal(t0) {
			t.Fatalf("%s after the migration: %+v, %v", org, w, err)
		}
	}
	if n, err := ch.SealPlainWebhookSecrets(ctx); n != 0 || err != nil {
		t.Fatalf("again: %d, %v", n, err)
	}
	// A record it cannot read stops it, untouched.
	if _, err := kv.Put(ctx, "d", []byte(`{"sealed":"AAAA"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SealPlainWebhookSecrets(ctx); err == nil || !strings.Contains(err.Error(), "webhook secret of d does not open") {
		t.Fatalf("unreadable record: %v", err)
	}
	if raw := rawSecret(t, kv, "d"); string(raw) != `{"sealed":"AAAA"}` {
		t.Fatalf("unreadable record overwritten: %s", raw)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ch.SealPlainWebhookSecrets(cctx); err == nil {
		t.Fatal("cancelled: no error")
	}
}

// TestOpenChannelsKey: a sealing key that is not 32 bytes is refused.
func TestOpenChannelsKey(t *testing.T) {
	st := open(t)
	for _, n := range []int{0, 16, 33} {
		if _, err := st.OpenChannels(t.Context(), store.WebhookSealing{Key: make([]byte, n)}); err == nil || !strings.Contains(err.Error(), "want 32") {
			t.Errorf("%d-byte key: %v", n, err)
		}
	}
}
