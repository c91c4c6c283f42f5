package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/delivery"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
)

// flakyTimers fails every Arm for the breaches in fail, as a store that
// keeps timing out would, and counts the attempts.
type flakyTimers struct {
	mu    sync.Mutex
	fail  map[breach.BreachID]bool
	tries map[breach.BreachID]int
}

func (f *flakyTimers) Arm(_ context.Context, b breach.BreachID, _ int, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries[b]++
	if f.fail[b] {
		return errors.New("timer store unavailable")
	}
	return nil
}

func (f *flakyTimers) Next([]*breach.Notice) time.Time { return time.Time{} }

func (f *flakyTimers) count(b breach.BreachID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[b]
}

func testReport(id string, orgs ...string) []byte {
	var aff []string
	for _, o := range orgs {
		aff = append(aff, fmt.Sprintf(`{"org_id":%q}`, o))
	}
	return []byte(fmt.Sprintf(`{"id":%q,"processor":"P","title":"T","nature":"n","discovered_at":"2025-08-23T14:00:00Z","affected":[%s],"contact":{"phone":"1"}}`,
		id, strings.Join(aff, ",")))
}

// rejectionsOf reads every rejection published so far.
func rejectionsOf(t *testing.T, js jetstream.JetStream) []Rejection {
	t.Helper()
	c, err := js.OrderedConsumer(context.Background(), store.StreamRejected, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []Rejection
	for {
		m, err := c.Next(jetstream.FetchMaxWait(100 * time.Millisecond))
		if err != nil {
			return out
		}
		var r Rejection
		if err := json.Unmarshal(m.Data(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// TestTransientFailureDeadLetters: a report whose processing keeps failing
// for a transient reason is tried MaxAttempts times, then given up on with
// a dead_lettered rejection and terminated; a valid report published right
// after it is recorded meanwhile, and nothing is left pending.
func TestTransientFailureDeadLetters(t *testing.T) {
	srv := natstest.Start(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, srv.Connect(), store.Config{}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutOrgs(ctx, []breach.Org{{ID: "org-a", Name: "A"}, {ID: "org-b", Name: "B"}}); err != nil {
		t.Fatal(err)
	}
	ring, err := signing.OpenRing(ctx, st.JetStream(), 1, time.Now, 0, signing.Sealing{Key: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ring.Close)
	pub, err := delivery.NewPublisher(ctx, st, ring)
	if err != nil {
		t.Fatal(err)
	}
	timers := &flakyTimers{fail: map[breach.BreachID]bool{"B-flaky": true}, tries: map[breach.BreachID]int{}}
	const attempts = 3
	in := New(st, pub, Config{Deadline: 72 * time.Hour, Now: time.Now, Timers: timers, Log: log,
		MaxAttempts: attempts, RetryDelay: 200 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); _ = in.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	js := st.JetStream()
	ack, err := js.Publish(ctx, store.SubjectReport, testReport("B-flaky", "org-a"))
	if err != nil {
		t.Fatal(err)
	}
	publishedOK := time.Now()
	if _, err := js.Publish(ctx, store.SubjectReport, testReport("B-ok", "org-b")); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		b, err := st.GetBreach(ctx, "B-ok")
		if err != nil || !b.FanoutComplete {
			return fmt.Errorf("B-ok not recorded yet: %v", err)
		}
		return nil
	})
	if took := time.Since(publishedOK); took > 5*time.Second {
		t.Fatalf("valid report recorded after %v behind a failing one", took)
	}
	var dead Rejection
	// attempts deliveries, each tried again in place (inPlaceRetries: about
	// 4 s with this RetryDelay), with the delays between them.
	testkit.Eventually(t, 30*time.Second, func() error {
		for _, r := range rejectionsOf(t, js) {
			if r.Reason == "dead_lettered" {
				dead = r
				return nil
			}
		}
		return errors.New("no dead_lettered rejection yet")
	})
	if dead.BreachID != "B-flaky" || dead.StreamSeq != ack.Sequence || dead.Attempts != attempts || !strings.Contains(dead.Detail, "timer store unavailable") {
		t.Fatalf("rejection = %+v; want B-flaky, seq %d, %d attempts, the last error", dead, ack.Sequence, attempts)
	}
	cons, err := js.Consumer(ctx, store.StreamIntake, ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() error {
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending != 0 || info.NumRedelivered != 0 || info.NumPending != 0 {
			return fmt.Errorf("consumer still holds messages: pending %d, ack pending %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
		}
		return nil
	})
	// Each delivery is tried once and then again in place, in case the
	// failure was a NATS election: 3 deliveries of 1+5 tries.
	if n, want := timers.count("B-flaky"), attempts*(1+len(in.inPlaceRetries())); n != want {
		t.Fatalf("B-flaky tried %d times; want %d", n, want)
	}
}

// TestRejectionCapped: a rejection with 20,000 unknown ids and 40,000
// violations with long texts lists the first MaxListed of each with their
// totals, and always fits well within a NATS message.
func TestRejectionCapped(t *testing.T) {
	r := Rejection{Reason: "invalid", Detail: strings.Repeat("d", 1<<20), Subject: store.SubjectReport}
	for i := range 20_000 {
		r.UnknownOrgIDs = append(r.UnknownOrgIDs, breach.OrgID(fmt.Sprintf("unknown-%05d", i)))
	}
	long := strings.Repeat("€", 5000)
	for i := range 40_000 {
		r.Violations = append(r.Violations, breach.FieldViolation{Field: fmt.Sprintf("affected[%d].org_id", i), Reason: "pattern", Detail: long})
	}
	data, err := encodeRejection(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > maxRejectionBytes {
		t.Fatalf("rejection is %d bytes; at most %d", len(data), maxRejectionBytes)
	}
	var got Rejection
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.UnknownOrgIDsTotal != 20_000 || got.ViolationsTotal != 40_000 || len([]rune(got.Detail)) > MaxDetail+1 {
		t.Fatalf("totals %d, %d, detail %d characters", got.UnknownOrgIDsTotal, got.ViolationsTotal, len(got.Detail))
	}
	if len(got.UnknownOrgIDs) > MaxListed || len(got.Violations) > MaxListed {
		t.Fatalf("lists %d ids, %d violations; at most %d", len(got.UnknownOrgIDs), len(got.Violations), MaxListed)
	}
	// With short violations the lists stay (capped).
	r.Violations = r.Violations[:200]
	for i := range r.Violations {
		r.Violations[i].Detail = "bad"
	}
	data, _ = encodeRejection(r)
	got = Rejection{}
	_ = json.Unmarshal(data, &got)
	if len(got.UnknownOrgIDs) != MaxListed || got.UnknownOrgIDs[0] != "unknown-00000" || len(got.Violations) != MaxListed || got.ViolationsTotal != 200 {
		t.Fatalf("capped lists: %d ids (first %v), %d violations, total %d", len(got.UnknownOrgIDs), got.UnknownOrgIDs[:1], len(got.Violations), got.ViolationsTotal)
	}
}
