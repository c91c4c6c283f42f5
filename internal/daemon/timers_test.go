package daemon_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/daemon"
	"github.com/cascadehq/cascade/internal/deadline"
	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/signing"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// orgMessages returns the Cascade-Event headers of every message stored for
// one organisation, in order, and the bodies.
func lastMsg(t *testing.T, js jetstream.JetStream, stream, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	st, err := js.Stream(ctx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetLastMsgForSubject(ctx(t), subject)
	if err != nil {
		t.Fatalf("last message on %s: %v", subject, err)
	}
	return m
}

func orgMessages(t *testing.T, js jetstream.JetStream, stream, subject string) ([]string, []map[string]any) {
	t.Helper()
	c, err := js.OrderedConsumer(ctx(t), stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var evs []string
	var bodies []map[string]any
	if c.CachedInfo().NumPending == 0 {
		return nil, nil
	}
	for {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", subject, err)
		}
		ev := m.Headers().Get("Cascade-Event")
		if r := m.Headers().Get("Cascade-Redelivery"); r != "" {
			ev += "#" + r
		}
		evs = append(evs, ev)
		var b map[string]any
		_ = json.Unmarshal(m.Data(), &b)
		bodies = append(bodies, b)
		if md, err := m.Metadata(); err != nil || md.NumPending == 0 {
			return evs, bodies
		}
	}
}

func getNotice(t *testing.T, c cascadev1.NoticeServiceClient, id string) *cascadev1.Notice {
	t.Helper()
	r, err := c.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: id})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetNotice()
}

// lateness collects how late each reminder and overdue escalation was sent.
func lateness(ns ...*cascadev1.Notice) []time.Duration {
	var out []time.Duration
	for _, n := range ns {
		for _, r := range n.GetReminders() {
			out = append(out, r.GetSentAt().AsTime().Sub(r.GetDueAt().AsTime()))
		}
		if n.GetOverdueNotifiedAt() != nil {
			out = append(out, n.GetOverdueNotifiedAt().AsTime().Sub(n.GetDeadline().AsTime()))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestRemindersThenOverdue(t *testing.T) {
	opts := options(t)
	opts.Deadline = 5 * time.Second
	opts.Remind = []time.Duration{3 * time.Second, time.Second}
	opts.Redeliver = []time.Duration{}
	e := start(t, opts)
	e.publish(report("REM-1", "se-kommun-0180", "se-kommun-1480"))
	e.waitSummary("REM-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 2 })
	// Stockholm resolves at once: no reminder, no escalation after that.
	if _, err := e.noticeC.RecordNotReportable(ctx(t), &cascadev1.RecordNotReportableRequest{
		NoticeId: "REM-1/se-kommun-0180", Justification: "no personal data of ours in the copied files", RecordedBy: "dpo"}); err != nil {
		t.Fatal(err)
	}
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		n = getNotice(t, e.noticeC, "REM-1/se-kommun-1480")
		if n.GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("not escalated yet: %d reminders", len(n.GetReminders()))
		}
		return nil
	})
	rs := n.GetReminders()
	if len(rs) != 2 || rs[0].GetRemaining().AsDuration() != 3*time.Second || rs[1].GetRemaining().AsDuration() != time.Second {
		t.Fatalf("reminders = %v", rs)
	}
	for _, r := range rs {
		if r.GetSentAt().AsTime().Before(r.GetDueAt().AsTime()) {
			t.Fatalf("reminder sent before it was due: %v", r)
		}
	}
	if !n.GetOverdue() || n.GetOverdueNotifiedAt().AsTime().Before(n.GetDeadline().AsTime()) {
		t.Fatalf("overdue escalation = %v (deadline %v)", n.GetOverdueNotifiedAt().AsTime(), n.GetDeadline().AsTime())
	}
	evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480")
	if want := []string{"notice", "reminder", "reminder", "overdue"}; !slices.Equal(evs, want) {
		t.Fatalf("messages to se-kommun-1480 = %v, want %v", evs, want)
	}
	if bodies[1]["remaining"] != "3s" || bodies[2]["remaining"] != "1s" {
		t.Fatalf("reminder bodies = %v, %v", bodies[1], bodies[2])
	}
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-0180"); !slices.Equal(evs, []string{"notice"}) {
		t.Fatalf("resolved organisation got %v", evs)
	}
	// The vendor is told of the same reminders and escalation: one round
	// each, listing the organisation.
	evs, rounds := orgMessages(t, e.js, "CASCADE_EVENTS", "cascade.events.REM-1.>")
	if !slices.Equal(evs, []string{"reminder", "reminder", "overdue"}) {
		t.Fatalf("vendor events = %v", evs)
	}
	for i, want := range []string{"3s", "1s", ""} {
		if r := rounds[i]; fmt.Sprint(r["org_ids"]) != "[se-kommun-1480]" || (want != "" && r["remaining"] != want) || r["breach_id"] != "REM-1" {
			t.Fatalf("vendor round %d = %v", i, r)
		}
	}
	if m := lastMsg(t, e.js, "CASCADE_EVENTS", "cascade.events.REM-1._overdue"); m.Header.Get("Cascade-Event") != "overdue" {
		t.Fatalf("overdue round headers %v", m.Header)
	}
	// The organisation's own messages verify with the published key set.
	keys, err := signing.ParseKeySet(lastMsg(t, e.js, "CASCADE_KEYS", "cascade.keys").Data)
	if err != nil {
		t.Fatal(err)
	}
	org := lastMsg(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-1480")
	if _, err := signing.Verify(keys, org.Subject, org.Header, org.Data, time.Now()); err != nil {
		t.Fatalf("overdue message does not verify: %v", err)
	}
	t.Logf("lateness: %v", lateness(n))
}

// TestTimersSurviveRestart: with the daemon down, the JetStream server
// fires the schedule; the restarted daemon sends the missed reminder (marked
// late) and then the rest on time, each once.
func TestTimersSurviveRestart(t *testing.T) {
	srv := natstest.Start(t)
	opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 7 * time.Second,
		Remind: []time.Duration{5 * time.Second, 2 * time.Second}, Redeliver: []time.Duration{}, LateAfter: 500 * time.Millisecond,
		OrgsFile: exampleOrgs, Log: testLogger(t)}
	e := start(t, opts)
	e.publish(report("RST-1", "se-kommun-0180"))
	e.waitSummary("RST-1", 20*time.Second, func(s *cascadev1.BreachSummary) bool { return s.GetDelivered() == 1 })
	e.d.Stop()
	// While the daemon is down, the first reminder falls due and the server fires its timer.
	timers, err := e.js.Stream(ctx(t), "CASCADE_TIMERS")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		info, err := timers.Info(ctx(t), jetstream.WithSubjectFilter("cascade.timer.fire.>"))
		if err != nil {
			return err
		}
		if len(info.State.Subjects) == 0 {
			return fmt.Errorf("no timer fired yet")
		}
		return nil
	})
	testkit.Eventually(t, 20*time.Second, func() error { // and is at least LateAfter overdue
		m, err := timers.GetLastMsgForSubject(ctx(t), "cascade.timer.fire.RST-1.0")
		if err != nil {
			return err
		}
		if time.Since(m.Time) < time.Second {
			return fmt.Errorf("fired %s ago", time.Since(m.Time))
		}
		return nil
	})
	opts.OrgsFile = ""
	e2 := start(t, opts)
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		n = getNotice(t, e2.noticeC, "RST-1/se-kommun-0180")
		if n.GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("not escalated yet: %v", n.GetReminders())
		}
		return nil
	})
	rs := n.GetReminders()
	if len(rs) != 2 || !rs[0].GetLate() || rs[0].GetRemaining().AsDuration() != 5*time.Second {
		t.Fatalf("reminders after restart = %v; want the 5s one late", rs)
	}
	evs, _ := orgMessages(t, e2.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-0180")
	if want := []string{"notice", "reminder", "reminder", "overdue"}; !slices.Equal(evs, want) {
		t.Fatalf("messages = %v, want %v", evs, want)
	}
}

// TestTwoDaemonsFireOnce: two daemons on one JetStream; every reminder and
// escalation reaches each organisation exactly once.
func TestTwoDaemonsFireOnce(t *testing.T) {
	srv := natstest.Start(t)
	const orgs = 40
	reg := writeRegistry(t, orgs)
	var es []*env
	for i := range 2 {
		opts := daemon.Options{SecretFile: sharedSecret(t), InsecureNATSNoAuth: true, NATSURL: srv.ClientURL(), GRPCAddr: "127.0.0.1:0", InsecureNoAuth: true, Deadline: 5 * time.Second,
			Remind: []time.Duration{3 * time.Second, time.Second}, Redeliver: []time.Duration{}, Log: testLogger(t)}
		if i == 0 {
			opts.OrgsFile = reg
		}
		es = append(es, start(t, opts))
	}
	es[0].publish(allReport("TWO-1"))
	testkit.Eventually(t, 30*time.Second, func() error {
		r, err := es[1].noticeC.ListNotices(ctx(t), &cascadev1.ListNoticesRequest{BreachId: "TWO-1", PageSize: 1000})
		if err != nil {
			return err
		}
		ns := r.GetNotices()
		for _, n := range ns {
			if n.GetOverdueNotifiedAt() == nil {
				return fmt.Errorf("%s not escalated", n.GetId())
			}
		}
		if len(ns) != orgs {
			return fmt.Errorf("%d notices", len(ns))
		}
		return nil
	})
	ns := es[0].listAll(&cascadev1.ListNoticesRequest{BreachId: "TWO-1"})
	for i := range orgs {
		subj := fmt.Sprintf("cascade.notice.org-%05d", i)
		evs, _ := orgMessages(t, es[0].js, "CASCADE_NOTICES", subj)
		if want := []string{"notice", "reminder", "reminder", "overdue"}; !slices.Equal(evs, want) {
			t.Errorf("%s got %v, want %v", subj, evs, want)
		}
		if len(ns[i].GetReminders()) != 2 {
			t.Errorf("%s recorded %d reminders", ns[i].GetId(), len(ns[i].GetReminders()))
		}
	}
	l := lateness(ns...)
	t.Logf("%d timers; lateness p50 %s, max %s", len(l), l[len(l)/2], l[len(l)-1])
}

// TestRedeliveryUntilAcknowledged: an unacknowledged notice is delivered
// again on the backoff; acknowledging stops it, and never moves the deadline.
func TestRedeliveryUntilAcknowledged(t *testing.T) {
	opts := options(t)
	opts.Remind = []time.Duration{}
	opts.Redeliver = []time.Duration{time.Second}
	e := start(t, opts)
	e.publish(report("RED-1", "se-kommun-0180"))
	id := "RED-1/se-kommun-0180"
	var n *cascadev1.Notice
	testkit.Eventually(t, 20*time.Second, func() error {
		r, err := e.noticeC.GetNotice(ctx(t), &cascadev1.GetNoticeRequest{NoticeId: id})
		if err != nil {
			return err
		}
		n = r.GetNotice()
		if n.GetDeliveryCount() < 3 {
			return fmt.Errorf("delivered %d times", n.GetDeliveryCount())
		}
		return nil
	})
	acked, err := e.noticeC.AcknowledgeNotice(ctx(t), &cascadev1.AcknowledgeNoticeRequest{NoticeId: id, AcknowledgedBy: "dpo"})
	if err != nil {
		t.Fatal(err)
	}
	if !acked.GetNotice().GetDeadline().AsTime().Equal(n.GetDeadline().AsTime()) {
		t.Fatal("redelivery or acknowledgement moved the deadline")
	}
	// After the acknowledgement the chunk's timer is armed only for what is
	// still needed: the overdue escalation at the deadline, not a redelivery.
	timers, err := e.js.Stream(ctx(t), "CASCADE_TIMERS")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		m, err := timers.GetLastMsgForSubject(ctx(t), "cascade.timer.at.RED-1.0")
		if err != nil {
			return err
		}
		sched := m.Header.Get("Nats-Schedule")
		if want := deadline.ScheduleAt(n.GetDeadline().AsTime().Add(-deadline.ScheduleLead)); sched != want {
			return fmt.Errorf("schedule %q, want %q (the deadline, %s early)", sched, want, deadline.ScheduleLead)
		}
		var body struct {
			Due time.Time `json:"due"`
		}
		if err := json.Unmarshal(m.Data, &body); err != nil || !body.Due.Equal(n.GetDeadline().AsTime()) {
			return fmt.Errorf("schedule body %s, want due at the deadline %v (%v)", m.Data, n.GetDeadline().AsTime(), err)
		}
		return nil
	})
	final := getNotice(t, e.noticeC, id)
	evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.se-kommun-0180")
	if int32(len(evs)) != final.GetDeliveryCount() || evs[0] != "notice" || evs[1] != "notice#1" {
		t.Fatalf("messages %v for %d deliveries", evs, final.GetDeliveryCount())
	}
}
