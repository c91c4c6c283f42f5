package signing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
)

// logBuf collects a logger's lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// putRaw writes value as the bucket's record, as anyone allowed to write
// the bucket can, bypassing Cascade.
func putRaw(t *testing.T, js jetstream.JetStream, value []byte) {
	t.Helper()
	kv, err := js.CreateOrUpdateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: BucketKeys, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(t.Context(), recordKey, value); err != nil {
		t.Fatal(err)
	}
}

// rawRecord is the bucket's record as bytes.
func rawRecord(t *testing.T, js jetstream.JetStream) []byte {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), BucketKeys)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), recordKey)
	if err != nil {
		t.Fatal(err)
	}
	return e.Value()
}

// TestReaderOfTheBucketCannotSign: what a reader of cascade-keys gets holds
// no private key, under any of the names it had or has.
func TestReaderOfTheBucketCannotSign(t *testing.T) {
	srv := natstest.Start(t)
	js := jetStream(t, srv.Connect())
	c := &clock{t: t0}
	r := openRing(t, js, c, time.Hour)
	if _, err := r.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	raw := rawRecord(t, js)
	var rec struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Keys) != 2 {
		t.Fatalf("stored %d keys, want 2", len(rec.Keys))
	}
	for _, k := range rec.Keys {
		if _, ok := k["private_key"]; ok {
			t.Errorf("key %v stored with a private key in clear", k["key_id"])
		}
	}
	for _, k := range r.state.keys {
		for _, form := range [][]byte{k.Private.Seed(), []byte(b64(k.Private.Seed())), []byte(b64(k.Private)), []byte(fmt.Sprintf("%x", k.Private.Seed()))} {
			if bytes.Contains(raw, form) {
				t.Fatalf("the stored record holds key %s's private key", k.ID)
			}
		}
	}
}

// TestRingMigratesPlainKeys: keys stored in clear by an older version are
// sealed in place, once, and the ring signs on with the same key.
func TestRingMigratesPlainKeys(t *testing.T) {
	srv := natstest.Start(t)
	js := jetStream(t, srv.Connect())
	old, err := os.ReadFile(filepath.Join("testdata", "record_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	putRaw(t, js, old)
	active := fixedKey(3, t0)
	c := &clock{t: t0.Add(48 * time.Hour)} // the retired key still verifies
	// Without the migration the ring refuses the keys in clear.
	if _, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, testSealing); err == nil || !strings.Contains(err.Error(), "private key in clear, refused") {
		t.Fatalf("OpenRing on keys in clear without MigratePlain: %v; want refused", err)
	}
	var logs logBuf
	var wg sync.WaitGroup
	rings := make([]*Ring, 3)
	errs := make([]error, len(rings))
	for i := range rings { // several daemons at the first start with a secret
		wg.Go(func() {
			rings[i], errs[i] = OpenRing(t.Context(), jetStream(t, srv.Connect()), 1, c.now, time.Hour,
				Sealing{Key: testSealing.Key, MigratePlain: true, Log: logs.logger()})
		})
	}
	wg.Wait()
	for i, r := range rings {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(r.Close)
		if got := r.Active(); got.ID != active.ID || !got.Private.Equal(active.Private) {
			t.Fatalf("ring %d signs with %s, want the migrated key %s", i, got.ID, active.ID)
		}
	}
	if n := strings.Count(logs.String(), "sealed the private signing keys"); n != 1 || !strings.Contains(logs.String(), "keys=2") ||
		!strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("migration logged %d times, want once at INFO with keys=2:\n%s", n, logs.String())
	}
	raw := rawRecord(t, js)
	if bytes.Contains(raw, []byte(`"private_key"`)) || bytes.Contains(raw, []byte(b64(active.Private.Seed()))) {
		t.Fatalf("after the migration the record still holds a key in clear: %s", raw)
	}
	if keys := stored(t, js); len(keys) != 2 {
		t.Fatalf("stored %d keys, want 2", len(keys))
	}
	// Later starts need no migration and log none.
	var again logBuf
	r, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, Sealing{Key: testSealing.Key, Log: again.logger()})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if again.String() != "" {
		t.Errorf("a later start logged %q", again.String())
	}
}

// TestRingRefusesPlantedKey: once keys are sealed, a private key written in
// clear (a key the writer knows) is refused by a starting ring, and a
// running ring signs on with its own key and logs an error.
func TestRingRefusesPlantedKey(t *testing.T) {
	srv := natstest.Start(t)
	js := jetStream(t, srv.Connect())
	c := &clock{t: t0}
	var logs logBuf
	r, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, Sealing{Key: testSealing.Key, Log: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	genuine := r.Active().ID
	planted := fixedKey(42, t0.Add(time.Minute))
	rec := record{Keys: []storedKey{{PublicKey: planted.PublicPart(), Seed: planted.Private.Seed()}}}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	putRaw(t, js, data)
	testkit.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "private key in clear, refused") {
			return fmt.Errorf("no error logged for the planted key: %q", logs.String())
		}
		return nil
	})
	if got := r.Active().ID; got != genuine {
		t.Fatalf("the running ring signs with %s after a key was planted, want %s", got, genuine)
	}
	for _, p := range r.Public() {
		if p.ID == planted.ID {
			t.Fatal("the planted key is listed as the vendor's")
		}
	}
	if _, err := r.Rotate(t.Context()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Rotate over the planted key: %v; want refused", err)
	}
	if _, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, testSealing); err == nil || !strings.Contains(err.Error(), "private key in clear, refused") {
		t.Errorf("OpenRing over the planted key: %v; want refused", err)
	}
}

// TestRingWithAnotherSecret: keys sealed under one secret do not open
// under another: the ring fails, it never makes or uses another key.
func TestRingWithAnotherSecret(t *testing.T) {
	srv := natstest.Start(t)
	js := jetStream(t, srv.Connect())
	c := &clock{t: t0}
	first := openRing(t, js, c, time.Hour).Active().ID
	for _, s := range []Sealing{{Key: bytes.Repeat([]byte{1}, 32)}, {Key: bytes.Repeat([]byte{1}, 32), MigratePlain: true}} {
		if _, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, s); err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("OpenRing under another secret (migrate %v): %v; want an error", s.MigratePlain, err)
		}
	}
	for _, key := range [][]byte{nil, make([]byte, 16)} {
		if _, err := OpenRing(t.Context(), js, 1, c.now, time.Hour, Sealing{Key: key}); err == nil || !strings.Contains(err.Error(), "sealing key of") {
			t.Errorf("OpenRing with a %d-byte sealing key: %v", len(key), err)
		}
	}
	if keys := stored(t, js); len(keys) != 1 || keys[0].ID != first {
		t.Errorf("stored %v, want only %s", ids(keys), first)
	}
}
