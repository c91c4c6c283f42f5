package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/deadline"
	"github.com/cascadehq/cascade/internal/store"
	"github.com/cascadehq/cascade/internal/testkit"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// TestClockStartsOnChannelDelivery: an organisation that takes no notices
// over NATS (channels=webhook) is published to all the same, for the
// dispatcher, but its notice stays PENDING and its clock does not run until
// the first webhook or e-mail delivery is recorded; then its reminders come
// from that time. The delivery is recorded here the way the dispatcher does:
// through the CAS helper, then Timers.ArmNotice.
func TestClockStartsOnChannelDelivery(t *testing.T) {
	orgs := filepath.Join(t.TempDir(), "orgs.csv")
	if err := os.WriteFile(orgs, []byte("id,name,webhook_url,channels\n"+
		"org-nats,Over NATS,,\n"+
		"org-hook,Webhook only,http://127.0.0.1:9/cascade,webhook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(t)
	opts.OrgsFile = orgs
	opts.Deadline = 4 * time.Second
	opts.Remind = []time.Duration{2 * time.Second}
	opts.Redeliver = []time.Duration{}
	e := start(t, opts)
	e.publish(report("CLK-1", "org-nats", "org-hook"))
	testkit.Eventually(t, 20*time.Second, func() error {
		b, err := e.breachC.GetBreach(ctx(t), &cascadev1.GetBreachRequest{BreachId: "CLK-1"})
		if err != nil {
			return err
		}
		if !b.GetBreach().GetFanoutComplete() {
			return fmt.Errorf("fan-out not complete")
		}
		return nil
	})
	if n := getNotice(t, e.noticeC, "CLK-1/org-nats"); n.GetState() != cascadev1.NoticeState_NOTICE_STATE_DELIVERED {
		t.Fatalf("NATS organisation: state %v", n.GetState())
	}
	hook := getNotice(t, e.noticeC, "CLK-1/org-hook")
	if hook.GetState() != cascadev1.NoticeState_NOTICE_STATE_PENDING || hook.GetDeadline() != nil || hook.GetDeliveredAt() != nil {
		t.Fatalf("webhook-only organisation before any channel delivery: state %v, delivered %v, deadline %v",
			hook.GetState(), hook.GetDeliveredAt(), hook.GetDeadline())
	}
	evs, bodies := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.org-hook")
	if !slices.Equal(evs, []string{"notice"}) {
		t.Fatalf("messages for the dispatcher = %v, want [notice]", evs)
	}
	// Its clock is not known when the message is signed: no deadline in it.
	if _, has := bodies[0]["deadline"]; has || bodies[0]["clock"] == nil {
		t.Fatalf("first notice body of a channel-clock organisation: deadline %v, clock %v", bodies[0]["deadline"], bodies[0]["clock"])
	}

	// The first webhook success, as the dispatcher records it.
	st, err := store.Open(ctx(t), e.js.Conn(), store.Config{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	id := breach.NewNoticeID("CLK-1", "org-hook")
	deliveredAt := time.Now()
	n, err := st.UpdateNotice(ctx(t), id, "cascade", deliveredAt, func(n *breach.Notice) (breach.Event, error) {
		return n.Deliver(deliveredAt, opts.Deadline, 1), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	timers := deadline.NewTimers(st, nil, deadline.Policy{Window: opts.Deadline, Remind: opts.Remind, Redeliver: opts.Redeliver},
		time.Now, testLogger(t))
	if err := timers.ArmNotice(ctx(t), n); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		hook = getNotice(t, e.noticeC, "CLK-1/org-hook")
		if hook.GetOverdueNotifiedAt() == nil {
			return fmt.Errorf("not escalated yet: %d reminders", len(hook.GetReminders()))
		}
		return nil
	})
	if got := hook.GetDeadline().AsTime(); got.Sub(deliveredAt.Add(opts.Deadline)).Abs() > time.Millisecond {
		t.Fatalf("deadline %v, want first channel delivery %v + %v", got, deliveredAt, opts.Deadline)
	}
	if rs := hook.GetReminders(); len(rs) != 1 || rs[0].GetSentAt().AsTime().Before(deliveredAt.Add(2*time.Second)) {
		t.Fatalf("reminders = %v", rs)
	}
	if evs, _ := orgMessages(t, e.js, "CASCADE_NOTICES", "cascade.notice.org-hook"); !slices.Equal(evs, []string{"notice", "reminder", "overdue"}) {
		t.Fatalf("messages for the dispatcher = %v", evs)
	}
}
