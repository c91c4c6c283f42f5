package signing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func jetStream(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// testSealing seals the private keys of the tests' rings.
var testSealing = Sealing{Key: bytes.Repeat([]byte{0x5e}, 32)}

// testSealer opens what testSealing sealed.
func testSealer(t *testing.T) *sealer {
	t.Helper()
	s, err := newSealer(testSealing.Key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openRing(t *testing.T, js jetstream.JetStream, c *clock, overlap time.Duration) *Ring {
	t.Helper()
	r, err := OpenRing(t.Context(), js, 1, c.now, overlap, testSealing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// stored is the bucket's record as another reader sees it.
func stored(t *testing.T, js jetstream.JetStream) []Key {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), BucketKeys)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(t.Context(), recordKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := decodeRecord(e.Value(), testSealer(t), false)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// published is the current key set on cascade.keys, fetched as an
// organisation would: a JetStream direct get of the subject's last message.
func published(t *testing.T, nc *nats.Conn) (KeySet, *nats.Msg) {
	t.Helper()
	m, err := nc.RequestWithContext(t.Context(), "$JS.API.DIRECT.GET."+StreamKeys+"."+SubjectKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := m.Header.Get("Status"); st != "" {
		t.Fatalf("direct get: status %s %s", st, m.Header.Get("Description"))
	}
	ks, err := ParseKeySet(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return ks, m
}

func TestOpenRingKeepsItsKey(t *testing.T) {
	srv := natstest.Start(t)
	js := jetStream(t, srv.Connect())
	c := &clock{t: t0}
	r := openRing(t, js, c, time.Hour)
	k := r.Active()
	if k == nil || !k.Active || len(k.Private) != 64 || !k.CreatedAt.Equal(t0) || k.ID != KeyID(k.Public) {
		t.Fatalf("Active = %+v", k)
	}
	pub := r.Public()
	if len(pub) != 1 || pub[0].ID != k.ID || !pub[0].Active || !pub[0].ExpiresAt.IsZero() {
		t.Fatalf("Public = %+v", pub)
	}
	r.Close()
	r.Close() // twice is harmless

	again := openRing(t, js, c, time.Hour)
	if got := again.Active(); got.ID != k.ID || !got.Private.Equal(k.Private) {
		t.Errorf("reopened: active key %s, want %s", got.ID, k.ID)
	}
	if keys := stored(t, js); len(keys) != 1 {
		t.Errorf("stored %d keys, want 1", len(keys))
	}
}

// TestConcurrentOpen: daemons starting at once end up with one active key.
func TestConcurrentOpen(t *testing.T) {
	srv := natstest.Start(t)
	const daemons = 8
	jss := make([]jetstream.JetStream, daemons)
	for i := range jss {
		jss[i] = jetStream(t, srv.Connect())
	}
	c := &clock{t: t0}
	rings := make([]*Ring, daemons)
	errs := make([]error, daemons)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range daemons {
		wg.Go(func() {
			<-start
			rings[i], errs[i] = OpenRing(t.Context(), jss[i], 1, c.now, time.Hour, testSealing)
		})
	}
	close(start)
	wg.Wait()
	for i, r := range rings {
		if errs[i] != nil {
			t.Fatalf("ring %d: %v", i, errs[i])
		}
		t.Cleanup(r.Close)
	}
	want := rings[0].Active().ID
	for i, r := range rings {
		if got := r.Active().ID; got != want {
			t.Errorf("ring %d signs with %s, ring 0 with %s", i, got, want)
		}
	}
	if keys := stored(t, jss[0]); len(keys) != 1 || keys[0].ID != want || !keys[0].Active {
		t.Errorf("stored %+v, want the one key %s", keys, want)
	}
	if ks, _ := published(t, srv.Connect()); len(ks.Keys) != 1 || ks.Keys[0].ID != want {
		t.Errorf("published %+v", ks)
	}
}

func TestRotateAndExpire(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect()
	js := jetStream(t, nc)
	c := &clock{t: t0}
	const overlap = 24 * time.Hour
	r := openRing(t, js, c, overlap)

	first := r.Active()
	m := message(first)
	c.advance(time.Hour)
	second, err := r.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || !second.Active || r.Active().ID != second.ID {
		t.Fatalf("after Rotate: new %s, active %s, old %s", second.ID, r.Active().ID, first.ID)
	}
	pub := KeySet{Keys: r.Public()}
	if len(pub.Keys) != 2 || pub.Keys[0].ID != second.ID || pub.Keys[1].Active || !pub.Keys[1].ExpiresAt.Equal(t0.Add(time.Hour+overlap)) {
		t.Fatalf("Public after rotation: %+v", pub.Keys)
	}
	// Within the overlap the old key still verifies what it signed.
	if kid, err := m.Verify(pub, c.now()); err != nil || kid != first.ID {
		t.Errorf("during the overlap: %q, %v", kid, err)
	}
	// Past it, a verifier holding the old set is told the key expired...
	c.advance(overlap)
	if _, err := m.Verify(pub, c.now()); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("after the overlap: %v, want ErrKeyExpired", err)
	}
	// ... and the ring no longer lists it.
	if now := r.Public(); len(now) != 1 || now[0].ID != second.ID {
		t.Errorf("Public after the overlap: %+v", now)
	}
	// The next rotation drops it from the bucket.
	if keys := stored(t, js); len(keys) != 2 {
		t.Fatalf("stored %d keys before the next rotation, want 2", len(keys))
	}
	third, err := r.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	keys := stored(t, js)
	if len(keys) != 2 || keys[0].ID != third.ID || keys[1].ID != second.ID || keys[1].Active {
		t.Errorf("stored after the third key: %v", ids(keys))
	}
	// Messages signed now carry the new key.
	if kid, err := message(r.Active()).Verify(KeySet{Keys: r.Public()}, c.now()); err != nil || kid != third.ID {
		t.Errorf("new message: %q, %v", kid, err)
	}
}

func ids(keys []Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s(active=%v)", k.ID, k.Active))
	}
	return out
}

// TestRotationReachesOtherDaemons: a ring follows the bucket.
func TestRotationReachesOtherDaemons(t *testing.T) {
	srv := natstest.Start(t)
	c := &clock{t: t0}
	a := openRing(t, jetStream(t, srv.Connect()), c, time.Hour)
	b := openRing(t, jetStream(t, srv.Connect()), c, time.Hour)
	if a.Active().ID != b.Active().ID {
		t.Fatal("two rings on one bucket disagree")
	}
	for range 3 {
		k, err := b.Rotate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 5*time.Second, func() error {
			if got := a.Active().ID; got != k.ID {
				return fmt.Errorf("ring a signs with %s, b rotated to %s", got, k.ID)
			}
			return nil
		})
		if len(a.Public()) != len(b.Public()) {
			t.Errorf("a lists %d keys, b %d", len(a.Public()), len(b.Public()))
		}
	}
}

func TestPublishKeys(t *testing.T) {
	srv := natstest.Start(t)
	nc := srv.Connect()
	c := &clock{t: t0}
	a := openRing(t, jetStream(t, nc), c, time.Hour)
	b := openRing(t, jetStream(t, srv.Connect()), c, time.Hour)

	ks, _ := published(t, nc)
	if len(ks.Keys) != 1 || ks.Keys[0].ID != a.Active().ID {
		t.Fatalf("published at open: %+v", ks)
	}
	k, err := b.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ks, last := published(t, nc)
	if len(ks.Keys) != 2 || ks.Keys[0].ID != k.ID || !ks.Keys[0].Active || ks.Keys[1].Active {
		t.Fatalf("published after rotation: %+v", ks)
	}
	// A message signed by the new key verifies with the published set.
	if kid, err := message(k).Verify(ks, c.now()); err != nil || kid != k.ID {
		t.Errorf("verify with the published set: %q, %v", kid, err)
	}
	// Publishing again (from a daemon that has not seen the rotation yet,
	// or has) changes nothing: the set there is as new.
	seq := func(m *nats.Msg) string { return m.Header.Get("Nats-Sequence") }
	for _, r := range []*Ring{a, b} {
		if err := r.PublishKeys(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, again := published(t, nc); seq(again) != seq(last) {
		t.Errorf("republished an unchanged set: sequence %s, was %s", seq(again), seq(last))
	}
	// Concurrent rotations and publications leave the newest set last.
	var wg sync.WaitGroup
	for _, r := range []*Ring{a, b, a, b} {
		wg.Go(func() {
			if _, err := r.Rotate(context.WithoutCancel(t.Context())); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ks, _ = published(t, nc)
	if keys := stored(t, jetStream(t, nc)); ks.Keys[0].ID != keys[0].ID || len(ks.Keys) != len(keys) {
		t.Errorf("published %+v, stored %v", ks.Keys, ids(keys))
	}
}
