package daemon_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/natsauth"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// promising is report(id, orgs...) with next_update_by set to by.
func promising(by time.Time, id string, orgs ...string) []byte {
	return []byte(strings.Replace(string(report(id, orgs...)), `"contact":`,
		fmt.Sprintf(`"next_update_by":%q,"contact":`, by.UTC().Format(time.RFC3339Nano)), 1))
}

// publishUpdate publishes an update of breach id on cascade.breach.update,
// with a promise when by is not zero.
func (e *env) publishUpdate(id, summary string, by time.Time) {
	e.t.Helper()
	body := fmt.Sprintf(`{"breach_id":%q,"summary":%q`, id, summary)
	if !by.IsZero() {
		body += fmt.Sprintf(`,"next_update_by":%q`, by.UTC().Format(time.RFC3339Nano))
	}
	if _, err := e.vendorJS.Publish(ctx(e.t), "cascade.breach.update", []byte(body+"}")); err != nil {
		e.t.Fatal(err)
	}
}

// vendorEvents is every message on cascade.events.<id>._<event>.
func vendorEvents(t *testing.T, js jetstream.JetStream, id, event string) []*jetstream.RawStreamMsg {
	t.Helper()
	s, err := js.Stream(ctx(t), "CASCADE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	subject := "cascade.events." + id + "._" + event
	info, err := s.Info(ctx(t), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	if info.State.Subjects[subject] == 0 {
		return nil
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx(t), seq)
		if err != nil || m.Subject != subject {
			continue
		}
		out = append(out, m)
	}
	return out
}

func getBreach(t *testing.T, c cascadev1.BreachServiceClient, id string) *cascadev1.Breach {
	t.Helper()
	r, err := c.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: id})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetBreach()
}

// TestProcessorPromise: the processor's own clock. One breach's promise is
// kept by an update in time (no reminder, no overdue message, counted
// kept); another's is missed: the vendor is reminded on
// cascade.events.<breach>._update_due, the daemon restarts, and the vendor
// is told once, signed, on ._update_overdue when the promised time passes;
// the breach, its summary and a controller's notice show it late; a late
// update then counts as late, not missed twice, and opens a new promise.
func TestProcessorPromise(t *testing.T) {
	srv := natstest.Start(t)
	opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true,
		Deadline: 72 * time.Hour, UpdateReminder: 2 * time.Second, LateAfter: 500 * time.Millisecond, OrgsFile: exampleOrgs, Log: testLogger(t)}
	e := start(t, opts)
	now := time.Now()
	keptBy, missedBy := now.Add(4*time.Second), now.Add(9*time.Second)

	e.publish(promising(keptBy, "PROM-KEPT", "se-kommun-0180"))
	e.publish(promising(missedBy, "PROM-MISS", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("PROM-KEPT", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	sum := e.waitSummary("PROM-MISS", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	if !sum.GetNextUpdateBy().AsTime().Equal(missedBy) || sum.GetNextUpdateOverdue() || sum.GetPromisesMissed() != 0 {
		t.Fatalf("summary before: %v", sum)
	}

	// Kept: the update arrives in time and promises nothing more.
	e.publishUpdate("PROM-KEPT", "Forensics done; nothing more to add", time.Time{})
	var kept *cascadev1.Breach
	testkit.Eventually(t, 20*time.Second, func() error {
		kept = getBreach(t, e.breachC, "PROM-KEPT")
		if len(kept.GetRevisions()) != 1 {
			return fmt.Errorf("revisions %d", len(kept.GetRevisions()))
		}
		return nil
	})
	if p := kept.GetNextUpdate(); p.GetKept() != 1 || p.GetMissed() != 0 || p.GetNextUpdateBy() != nil || p.GetOverdue() ||
		kept.GetRevisions()[0].GetPromiseOutcome() != cascadev1.PromiseOutcome_PROMISE_OUTCOME_KEPT {
		t.Fatalf("kept promise: %v, revision %v", p, kept.GetRevisions()[0])
	}

	// Missed: reminded first ...
	testkit.Eventually(t, 20*time.Second, func() error {
		if len(vendorEvents(t, e.js, "PROM-MISS", "update_due")) == 0 {
			return fmt.Errorf("no reminder yet")
		}
		return nil
	})
	testkit.Eventually(t, 10*time.Second, func() error { // recorded once sent
		if b := getBreach(t, e.breachC, "PROM-MISS"); b.GetNextUpdate().GetRemindedAt() == nil || b.GetNextUpdate().GetOverdue() {
			return fmt.Errorf("after the reminder: %v", b.GetNextUpdate())
		}
		return nil
	})
	// ... then the daemon restarts before the promised time passes.
	e.d.Stop()
	opts.OrgsFile = ""
	e2 := start(t, opts)
	testkit.Eventually(t, 30*time.Second, func() error {
		if len(vendorEvents(t, e2.js, "PROM-MISS", "update_overdue")) == 0 {
			return fmt.Errorf("no overdue message yet")
		}
		return nil
	})
	keys, err := signing.ParseKeySet(lastMsg(t, e2.js, "CASCADE_KEYS", "cascade.keys").Data)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"update_due", "update_overdue"} {
		ms := vendorEvents(t, e2.js, "PROM-MISS", ev)
		if len(ms) != 1 {
			t.Fatalf("%d %s messages; want exactly one", len(ms), ev)
		}
		m := ms[0]
		if _, err := signing.Verify(keys, m.Subject, m.Header, m.Data, time.Now()); err != nil {
			t.Fatalf("%s message does not verify: %v", ev, err)
		}
		if m.Header.Get("Cascade-Notice-Id") != "PROM-MISS/_update" || !strings.Contains(string(m.Data), missedBy.UTC().Format(time.RFC3339Nano)) {
			t.Fatalf("%s message: %v %s", ev, m.Header, m.Data)
		}
	}
	if n := len(vendorEvents(t, e2.js, "PROM-KEPT", "update_due")) + len(vendorEvents(t, e2.js, "PROM-KEPT", "update_overdue")); n != 0 {
		t.Fatalf("%d promise messages for the kept promise; want none", n)
	}

	// Late: on the breach, the summary and a controller's notice.
	var b *cascadev1.Breach
	testkit.Eventually(t, 10*time.Second, func() error { // recorded once sent, then in the history
		if b = getBreach(t, e2.breachC, "PROM-MISS"); b.GetNextUpdate().GetOverdueNotifiedAt() == nil || len(b.GetPromiseHistory()) < 3 {
			return fmt.Errorf("overdue not recorded yet: %v, %v", b.GetNextUpdate(), b.GetPromiseHistory())
		}
		return nil
	})
	if p := b.GetNextUpdate(); !p.GetOverdue() || p.GetLateBy().AsDuration() <= 0 || p.GetMissed() != 1 || p.GetKept() != 0 ||
		!p.GetNextUpdateBy().AsTime().Equal(missedBy) || p.GetOverdueNotifiedAt() == nil {
		t.Fatalf("missed promise: %v", p)
	}
	var hist []string
	for _, h := range b.GetPromiseHistory() {
		hist = append(hist, h.GetEvent())
	}
	if want := []string{"promised", "reminded", "overdue"}; !slices.Equal(hist, want) {
		t.Fatalf("promise history %v; want %v", hist, want)
	}
	sum = e2.waitSummary("PROM-MISS", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetNextUpdateOverdue() })
	if sum.GetPromisesMissed() != 1 {
		t.Fatalf("summary when late: %v", sum)
	}
	if n := getNotice(t, e2.noticeC, "PROM-MISS/se-kommun-1480"); !n.GetNextUpdate().GetOverdue() || !n.GetNextUpdate().GetNextUpdateBy().AsTime().Equal(missedBy) {
		t.Fatalf("notice's promise: %v", n.GetNextUpdate())
	}

	// The late update: late, missed once, and a new promise opens.
	again := time.Now().Add(time.Hour)
	e2.publishUpdate("PROM-MISS", "Scope confirmed", again)
	testkit.Eventually(t, 20*time.Second, func() error {
		if b = getBreach(t, e2.breachC, "PROM-MISS"); len(b.GetRevisions()) != 1 {
			return fmt.Errorf("revisions %d", len(b.GetRevisions()))
		}
		return nil
	})
	if p := b.GetNextUpdate(); p.GetOverdue() || p.GetMissed() != 1 || !p.GetNextUpdateBy().AsTime().Equal(again) || p.GetPromisedRevision() != 2 ||
		b.GetRevisions()[0].GetPromiseOutcome() != cascadev1.PromiseOutcome_PROMISE_OUTCOME_LATE {
		t.Fatalf("after the late update: %v, revision %v", p, b.GetRevisions()[0])
	}
	sum = e2.waitSummary("PROM-MISS", 10*time.Second, func(s *cascadev1.BreachSummary) bool { return !s.GetNextUpdateOverdue() })
	if !sum.GetNextUpdateBy().AsTime().Equal(again) || sum.GetPromisesMissed() != 1 {
		t.Fatalf("summary after the late update: %v", sum)
	}
	if n := len(vendorEvents(t, e2.js, "PROM-MISS", "update_overdue")); n != 1 {
		t.Fatalf("%d overdue messages; want one", n)
	}
}

// TestPromiseVisibleToControllers: a controller sees the processor's
// promise on its own notice (GetNotice) and on the breach (GetBreach,
// redacted), and in the notice it was delivered (the breach's facts).
func TestPromiseVisibleToControllers(t *testing.T) {
	q := startQA(t, nil)
	by := time.Now().Add(6 * time.Hour).Truncate(time.Second)
	toA := q.sub(filepath.Join(natsauth.OrgsDir, "org-a.nk"), "cascade.notice.org-a")
	q.publish(promising(by, "QA-PROM", "org-a", "org-b"))
	q.waitSummary("QA-PROM", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	n, err := q.notices().GetNotice(withToken(ctx(t), q.ctrlA), &cascadev1.GetNoticeRequest{NoticeId: "QA-PROM/org-a"})
	if err != nil {
		t.Fatal(err)
	}
	if p := n.GetNotice().GetNextUpdate(); !p.GetNextUpdateBy().AsTime().Equal(by) || p.GetOverdue() || p.GetPromisedRevision() != 1 {
		t.Fatalf("controller's notice: %v", p)
	}
	b, err := cascadev1.NewBreachServiceClient(grpcConn(t, q.d.GRPCAddr())).GetBreach(withToken(ctx(t), q.ctrlA), &cascadev1.GetBreachRequest{BreachId: "QA-PROM"})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.GetBreach().GetNextUpdate(); !p.GetNextUpdateBy().AsTime().Equal(by) || len(b.GetBreach().GetReport().GetAffected()) != 1 {
		t.Fatalf("controller's breach: %v", b.GetBreach())
	}
	m := next(t, toA, "notice")
	var body struct {
		Breach struct {
			NextUpdateBy time.Time `json:"next_update_by"`
		} `json:"breach"`
	}
	if err := json.Unmarshal(m.Data, &body); err != nil || !body.Breach.NextUpdateBy.Equal(by) {
		t.Fatalf("delivered notice %s (%v)", m.Data, err)
	}
}
