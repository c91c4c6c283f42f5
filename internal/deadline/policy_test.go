package deadline

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

var (
	created   = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	delivered = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	deadline  = delivered.Add(72 * time.Hour)
)

func testPolicy() Policy {
	return Policy{
		Window:    72 * time.Hour,
		Remind:    []time.Duration{48 * time.Hour, 24 * time.Hour, 6 * time.Hour, time.Hour},
		Redeliver: []time.Duration{15 * time.Minute, time.Hour},
		LateAfter: time.Minute,
	}
}

// after is delivered + d.
func after(d time.Duration) time.Time { return delivered.Add(d) }

func pendingNotice() *breach.Notice {
	return &breach.Notice{ID: breach.NewNoticeID("INC-1", "acme"), State: breach.StatePending, CreatedAt: created}
}

// deliveredNotice is delivered (revision 1) at `delivered` and not acknowledged.
func deliveredNotice(t *testing.T) *breach.Notice {
	t.Helper()
	n := pendingNotice()
	if ev := n.Deliver(delivered, testPolicy().Window, 1); ev != breach.EventDelivered {
		t.Fatalf("Deliver = %q", ev)
	}
	if !n.Deadline.Equal(deadline) {
		t.Fatalf("deadline = %v, want %v", n.Deadline, deadline)
	}
	return n
}

func remind(r time.Duration) Action {
	return Action{Kind: ActRemind, Remaining: r, DueAt: deadline.Add(-r)}
}

func redeliver(attempt int, at time.Time) Action {
	return Action{Kind: ActRedeliver, Attempt: attempt, DueAt: at}
}

var overdueAction = Action{Kind: ActOverdue, DueAt: deadline}

func checkActions(t *testing.T, what string, got, want []Action) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// TestPolicyDueUntouched: nothing performed yet; every action falls due
// in order and stays due.
func TestPolicyDueUntouched(t *testing.T) {
	p := testPolicy()
	n := deliveredNotice(t)
	r1 := redeliver(1, after(15*time.Minute))
	tests := []struct {
		name string
		now  time.Time
		want []Action
	}{
		{"at delivery", delivered, nil},
		{"just before the first redelivery", after(15*time.Minute - time.Nanosecond), nil},
		{"first redelivery", after(15 * time.Minute), []Action{r1}},
		{"48h reminder", deadline.Add(-48 * time.Hour), []Action{r1, remind(48 * time.Hour)}},
		{"just before the 24h reminder", deadline.Add(-24*time.Hour - time.Nanosecond), []Action{r1, remind(48 * time.Hour)}},
		{"24h reminder", deadline.Add(-24 * time.Hour), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour)}},
		{"6h reminder", deadline.Add(-6 * time.Hour), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour)}},
		{"1h reminder", deadline.Add(-time.Hour), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour)}},
		{"just before the deadline", deadline.Add(-time.Nanosecond), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour)}},
		{"deadline", deadline, []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour), overdueAction}},
		{"long after", deadline.Add(1000 * time.Hour), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour), overdueAction}},
		{"deadline in another zone", deadline.In(time.FixedZone("CET", 3600)), []Action{r1, remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour), overdueAction}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkActions(t, "Due", p.Due(n, tc.now), tc.want)
		})
	}
	if got := p.Next(n); !got.Equal(after(15 * time.Minute)) {
		t.Errorf("Next = %v, want the first redelivery %v", got, after(15*time.Minute))
	}
}

// perform does what the timers do for a due action.
func perform(t *testing.T, p Policy, n *breach.Notice, a Action, now time.Time) {
	t.Helper()
	var ev breach.Event
	switch a.Kind {
	case ActRemind:
		ev = n.Remind(a.Remaining, a.DueAt, now, p.Late(a, now))
		if ev != breach.EventReminded {
			t.Fatalf("Remind(%v) = %q", a.Remaining, ev)
		}
	case ActOverdue:
		if ev = n.MarkOverdue(now); ev != breach.EventOverdue {
			t.Fatalf("MarkOverdue = %q", ev)
		}
	case ActRedeliver:
		if a.Attempt != n.Redeliveries+1 {
			t.Fatalf("redelivery attempt %d, notice has %d redeliveries", a.Attempt, n.Redeliveries)
		}
		if ev = n.Deliver(now, p.Window, n.Revision); ev != breach.EventRedelivered {
			t.Fatalf("Deliver = %q", ev)
		}
	}
}

// TestPolicyLifecycle runs a notice through its life as the timers would,
// checking Due and Next at each step.
func TestPolicyLifecycle(t *testing.T) {
	p := testPolicy()
	n := deliveredNotice(t)
	step := func(now time.Time, want []Action, next time.Time) {
		t.Helper()
		got := p.Due(n, now)
		checkActions(t, "Due at "+now.Sub(delivered).String(), got, want)
		for _, a := range got {
			perform(t, p, n, a, now)
		}
		if got := p.Due(n, now); len(got) != 0 {
			t.Errorf("after performing at %v, still due: %v", now.Sub(delivered), got)
		}
		if got := p.Next(n); !got.Equal(next) || got.IsZero() != next.IsZero() {
			t.Errorf("after %v: Next = %v, want %v", now.Sub(delivered), got, next)
		}
	}
	// Redelivery: 15 minutes after delivery, then an hour after each
	// redelivery (the last backoff repeats).
	step(after(15*time.Minute), []Action{redeliver(1, after(15*time.Minute))}, after(75*time.Minute))
	step(after(75*time.Minute), []Action{redeliver(2, after(75*time.Minute))}, after(135*time.Minute))
	// Performed 10 minutes late: the next one counts from when it happened.
	step(after(145*time.Minute), []Action{redeliver(3, after(135*time.Minute))}, after(205*time.Minute))
	if n.Redeliveries != 3 || !n.LastDeliveryAt.Equal(after(145*time.Minute)) {
		t.Fatalf("redeliveries %d, last %v", n.Redeliveries, n.LastDeliveryAt)
	}

	// Acknowledging stops the redeliveries; the reminders remain.
	if ev, err := n.Acknowledge(after(3*time.Hour), "dpo", "", 0); err != nil || ev != breach.EventAcknowledged {
		t.Fatalf("Acknowledge = %q, %v", ev, err)
	}
	checkActions(t, "Due after ack", p.Due(n, after(205*time.Minute)), nil)
	step(after(3*time.Hour), nil, deadline.Add(-48*time.Hour))

	step(deadline.Add(-48*time.Hour), []Action{remind(48 * time.Hour)}, deadline.Add(-24*time.Hour))
	// The daemon was down over the 24h and 6h reminders: both are due at once, in order.
	down := deadline.Add(-5 * time.Hour)
	got := p.Due(n, down)
	checkActions(t, "Due after downtime", got, []Action{remind(24 * time.Hour), remind(6 * time.Hour)})
	for _, a := range got {
		if !p.Late(a, down) {
			t.Errorf("%v performed %v after it was due is not late", a, down.Sub(a.DueAt))
		}
	}
	step(down, got, deadline.Add(-time.Hour))
	if !n.Reminders[1].Late || !n.Reminders[2].Late || n.Reminders[0].Late {
		t.Errorf("reminders' late flags = %+v", n.Reminders)
	}

	step(deadline.Add(-time.Hour), []Action{remind(time.Hour)}, deadline)
	step(deadline, []Action{overdueAction}, time.Time{})
	checkActions(t, "Due long after everything was done", p.Due(n, deadline.Add(1000*time.Hour)), nil)

	// A new revision brings the redelivery back (attempt 1 again).
	if ev := n.Deliver(deadline.Add(time.Hour), p.Window, 2); ev != breach.EventRevisionDelivered {
		t.Fatalf("Deliver(rev 2) = %q", ev)
	}
	if got := p.Next(n); !got.Equal(deadline.Add(75 * time.Minute)) {
		t.Errorf("after revision 2: Next = %v, want %v", got, deadline.Add(75*time.Minute))
	}
	step(deadline.Add(75*time.Minute), []Action{redeliver(1, deadline.Add(75*time.Minute))}, deadline.Add(135*time.Minute))
	if _, err := n.Acknowledge(deadline.Add(2*time.Hour), "dpo", "", 2); err != nil {
		t.Fatal(err)
	}
	if got := p.Next(n); !got.IsZero() {
		t.Errorf("after acknowledging revision 2: Next = %v, want zero", got)
	}
}

// TestPolicyDueDisappears: each kind of action disappears once performed
// (or, for redelivery, once acknowledged).
func TestPolicyDueDisappears(t *testing.T) {
	p := testPolicy()
	now := deadline.Add(time.Minute)
	all := []Action{redeliver(1, after(15*time.Minute)), remind(48 * time.Hour), remind(24 * time.Hour), remind(6 * time.Hour), remind(time.Hour), overdueAction}
	without := func(drop ...int) []Action {
		var out []Action
		for i, a := range all {
			if !slices.Contains(drop, i) {
				out = append(out, a)
			}
		}
		return out
	}
	tests := []struct {
		name string
		do   func(n *breach.Notice)
		want []Action
	}{
		{"nothing", func(n *breach.Notice) {}, all},
		{"reminded 24h", func(n *breach.Notice) { n.Remind(24*time.Hour, deadline.Add(-24*time.Hour), now, true) }, without(2)},
		{"reminded 48h and 1h", func(n *breach.Notice) {
			n.Remind(48*time.Hour, deadline.Add(-48*time.Hour), now, true)
			n.Remind(time.Hour, deadline.Add(-time.Hour), now, true)
		}, without(1, 4)},
		{"marked overdue", func(n *breach.Notice) { n.MarkOverdue(now) }, without(5)},
		{"acknowledged", func(n *breach.Notice) {
			if _, err := n.Acknowledge(now, "dpo", "", 0); err != nil {
				t.Fatal(err)
			}
		}, without(0)},
		{"redelivered once", func(n *breach.Notice) { n.Deliver(after(20*time.Minute), p.Window, 1) },
			append([]Action{redeliver(2, after(80*time.Minute))}, without(0)...)},
		{"resolved", func(n *breach.Notice) {
			if _, err := n.RecordNotReportable(now, "ctrl", "encrypted"); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"a reminder for another threshold", func(n *breach.Notice) { n.Remind(12*time.Hour, deadline.Add(-12*time.Hour), now, false) }, all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := deliveredNotice(t)
			tc.do(n)
			checkActions(t, "Due", p.Due(n, now), tc.want)
		})
	}
}

// TestPolicyResolved: a resolved notice gets no reminder and no overdue
// escalation; it is redelivered only while a newer revision is unacknowledged.
func TestPolicyResolved(t *testing.T) {
	p := testPolicy()
	n := deliveredNotice(t)
	if _, err := n.RecordAuthorityReport(after(time.Hour), "ctrl", "IMY", "IMY-1", after(30*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	checkActions(t, "Due when resolved", p.Due(n, deadline.Add(time.Hour)), nil)
	if got := p.Next(n); !got.IsZero() {
		t.Errorf("Next when resolved = %v, want zero", got)
	}

	if ev := n.Deliver(after(5*time.Hour), p.Window, 2); ev != breach.EventRevisionDelivered {
		t.Fatalf("Deliver(rev 2) = %q", ev)
	}
	if got, want := p.Next(n), after(5*time.Hour+15*time.Minute); !got.Equal(want) {
		t.Errorf("Next with revision 2 unacknowledged = %v, want %v", got, want)
	}
	checkActions(t, "Due long after the deadline with revision 2 unacknowledged", p.Due(n, deadline.Add(time.Hour)),
		[]Action{redeliver(1, after(5*time.Hour+15*time.Minute))})

	// The timers redeliver; then the organisation acknowledges revision 2.
	n.Deliver(after(5*time.Hour+15*time.Minute), p.Window, 2)
	checkActions(t, "Due after one redelivery", p.Due(n, deadline.Add(time.Hour)),
		[]Action{redeliver(2, after(6*time.Hour+15*time.Minute))})
	if ev, err := n.Acknowledge(after(7*time.Hour), "dpo", "", 0); err != nil || ev != breach.EventRevisionAcknowledged {
		t.Fatalf("Acknowledge(rev 2) = %q, %v", ev, err)
	}
	if n.State != breach.StateResolved {
		t.Errorf("state = %v, want RESOLVED", n.State)
	}
	checkActions(t, "Due after acknowledging revision 2", p.Due(n, deadline.Add(time.Hour)), nil)
	if got := p.Next(n); !got.IsZero() {
		t.Errorf("Next = %v, want zero", got)
	}
}

func TestPolicyUndelivered(t *testing.T) {
	p := testPolicy()
	for _, n := range []*breach.Notice{pendingNotice(), {ID: breach.NewNoticeID("INC-1", "x")}} {
		checkActions(t, "Due", p.Due(n, deadline.Add(1000*time.Hour)), nil)
		if got := p.Next(n); !got.IsZero() {
			t.Errorf("Next of a %v notice = %v, want zero", n.State, got)
		}
	}
}

func TestPolicyThresholds(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		remind []time.Duration
		want   []time.Duration // reminders due at the deadline, in order
	}{
		{"default", 72 * time.Hour, DefaultRemind, []time.Duration{48 * time.Hour, 24 * time.Hour, 6 * time.Hour, time.Hour}},
		{"any order, duplicates once", 72 * time.Hour, []time.Duration{time.Hour, 48 * time.Hour, time.Hour, 6 * time.Hour},
			[]time.Duration{48 * time.Hour, 6 * time.Hour, time.Hour}},
		{"zero and negative ignored", 72 * time.Hour, []time.Duration{0, -time.Hour, 24 * time.Hour}, []time.Duration{24 * time.Hour}},
		{"threshold beyond the window ignored", time.Hour, []time.Duration{48 * time.Hour}, nil},
		{"threshold equal to the window ignored", time.Hour, []time.Duration{48 * time.Hour, time.Hour, 30 * time.Minute},
			[]time.Duration{30 * time.Minute}},
		{"none", 72 * time.Hour, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Window: tc.window, Remind: tc.remind, LateAfter: time.Minute}
			n := pendingNotice()
			n.Deliver(delivered, tc.window, 1)
			var got []time.Duration
			for _, a := range p.Due(n, n.Deadline) {
				if a.Kind == ActRemind {
					got = append(got, a.Remaining)
					if !a.DueAt.Equal(n.Deadline.Add(-a.Remaining)) || a.DueAt.Before(n.DeliveredAt) {
						t.Errorf("reminder %v due %v (deadline %v, delivered %v)", a.Remaining, a.DueAt, n.Deadline, n.DeliveredAt)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("reminders = %v, want %v", got, tc.want)
			}
			if tc.want == nil {
				// Without reminders (and redeliveries), the overdue escalation is next.
				if next := p.Next(n); !next.Equal(n.Deadline) {
					t.Errorf("Next = %v, want the deadline %v", next, n.Deadline)
				}
			}
		})
	}
	// The policy's slice is not reordered by use.
	p := testPolicy()
	p.Remind = []time.Duration{time.Hour, 48 * time.Hour}
	p.Due(deliveredNotice(t), deadline)
	if !slices.Equal(p.Remind, []time.Duration{time.Hour, 48 * time.Hour}) {
		t.Errorf("Due reordered Policy.Remind: %v", p.Remind)
	}
}

func TestPolicyRedeliverBackoff(t *testing.T) {
	tests := []struct {
		name         string
		backoff      []time.Duration
		redeliveries int
		want         time.Duration // after LastDeliveryAt; 0: no redelivery
	}{
		{"first", []time.Duration{15 * time.Minute, time.Hour}, 0, 15 * time.Minute},
		{"second", []time.Duration{15 * time.Minute, time.Hour}, 1, time.Hour},
		{"last repeats", []time.Duration{15 * time.Minute, time.Hour}, 2, time.Hour},
		{"last repeats long after", []time.Duration{15 * time.Minute, time.Hour}, 50, time.Hour},
		{"default third", DefaultRedeliver, 2, 4 * time.Hour},
		{"default repeats", DefaultRedeliver, 9, 12 * time.Hour},
		{"single", []time.Duration{time.Hour}, 3, time.Hour},
		{"none configured", nil, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Policy{Window: 72 * time.Hour, Redeliver: tc.backoff}
			n := deliveredNotice(t)
			for range tc.redeliveries {
				n.Deliver(after(time.Minute), p.Window, 1)
			}
			var got []Action
			for _, a := range p.Due(n, deadline.Add(-time.Nanosecond)) {
				if a.Kind == ActRedeliver {
					got = append(got, a)
				}
			}
			if tc.want == 0 {
				checkActions(t, "redeliveries", got, nil)
				return
			}
			checkActions(t, "redeliveries", got, []Action{redeliver(tc.redeliveries+1, n.LastDeliveryAt.Add(tc.want))})
		})
	}
}

func TestPolicyNext(t *testing.T) {
	p := testPolicy()
	tests := []struct {
		name  string
		setup func(n *breach.Notice)
		want  time.Time
	}{
		{"unacknowledged: the first redelivery", func(n *breach.Notice) {}, after(15 * time.Minute)},
		{"acknowledged: the 48h reminder", func(n *breach.Notice) { n.Acknowledge(after(time.Minute), "dpo", "", 0) }, deadline.Add(-48 * time.Hour)},
		{"acknowledged, 48h sent: the 24h reminder", func(n *breach.Notice) {
			n.Acknowledge(after(time.Minute), "dpo", "", 0)
			n.Remind(48*time.Hour, deadline.Add(-48*time.Hour), deadline.Add(-48*time.Hour), false)
		}, deadline.Add(-24 * time.Hour)},
		{"acknowledged, only 1h left unsent: the 1h reminder", func(n *breach.Notice) {
			n.Acknowledge(after(time.Minute), "dpo", "", 0)
			for _, r := range []time.Duration{48 * time.Hour, 24 * time.Hour, 6 * time.Hour} {
				n.Remind(r, deadline.Add(-r), deadline.Add(-r), false)
			}
		}, deadline.Add(-time.Hour)},
		{"acknowledged, all reminders sent: the deadline", func(n *breach.Notice) {
			n.Acknowledge(after(time.Minute), "dpo", "", 0)
			for _, r := range testPolicy().Remind {
				n.Remind(r, deadline.Add(-r), deadline.Add(-r), false)
			}
		}, deadline},
		{"redelivered twice: an hour after the last", func(n *breach.Notice) {
			n.Deliver(after(15*time.Minute), testPolicy().Window, 1)
			n.Deliver(after(80*time.Minute), testPolicy().Window, 1)
		}, after(140 * time.Minute)},
		{"everything done", func(n *breach.Notice) {
			n.Acknowledge(after(time.Minute), "dpo", "", 0)
			for _, r := range testPolicy().Remind {
				n.Remind(r, deadline.Add(-r), deadline.Add(-r), false)
			}
			n.MarkOverdue(deadline)
		}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := deliveredNotice(t)
			tc.setup(n)
			got := p.Next(n)
			if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Errorf("Next = %v, want %v", got, tc.want)
			}
			// Next is the earliest pending time: nothing is due just before it.
			if !got.IsZero() {
				if due := p.Due(n, got.Add(-time.Nanosecond)); len(due) != 0 {
					t.Errorf("due before Next: %v", due)
				}
				if due := p.Due(n, got); len(due) == 0 {
					t.Errorf("nothing due at Next")
				}
			}
		})
	}
}

func TestPolicyNextOf(t *testing.T) {
	p := testPolicy()
	early := deliveredNotice(t) // next: delivered + 15m
	late := pendingNotice()     // delivered an hour later: next + 1h15m
	late.Deliver(after(time.Hour), p.Window, 1)
	done := deliveredNotice(t) // resolved: never
	if _, err := done.RecordNotReportable(after(time.Minute), "ctrl", "encrypted"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ns   []*breach.Notice
		want time.Time
	}{
		{"nil slice", nil, time.Time{}},
		{"only nils", []*breach.Notice{nil, nil}, time.Time{}},
		{"nothing pending", []*breach.Notice{nil, pendingNotice(), done}, time.Time{}},
		{"one", []*breach.Notice{late}, after(75 * time.Minute)},
		{"earliest wins, nils skipped", []*breach.Notice{nil, late, nil, early, done, nil}, after(15 * time.Minute)},
		{"order does not matter", []*breach.Notice{early, late}, after(15 * time.Minute)},
		{"zero Next does not win", []*breach.Notice{done, late}, after(75 * time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.NextOf(tc.ns)
			if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Errorf("NextOf = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPolicyLate(t *testing.T) {
	a := Action{Kind: ActRemind, DueAt: deadline.Add(-time.Hour)}
	tests := []struct {
		lateAfter time.Duration
		now       time.Time
		want      bool
	}{
		{time.Minute, a.DueAt, false},
		{time.Minute, a.DueAt.Add(-time.Hour), false}, // early
		{time.Minute, a.DueAt.Add(time.Minute), false},
		{time.Minute, a.DueAt.Add(time.Minute + time.Nanosecond), true},
		{time.Minute, a.DueAt.Add(48 * time.Hour), true},
		{0, a.DueAt, false},
		{0, a.DueAt.Add(time.Nanosecond), true},
		{DefaultLateAfter, a.DueAt.Add(30 * time.Second), false},
		{time.Hour, a.DueAt.Add(59 * time.Minute), false},
		{time.Hour, a.DueAt.Add(61 * time.Minute), true},
	}
	for _, tc := range tests {
		p := Policy{LateAfter: tc.lateAfter}
		if got := p.Late(a, tc.now); got != tc.want {
			t.Errorf("Late with LateAfter %v, %v after due = %v, want %v", tc.lateAfter, tc.now.Sub(a.DueAt), got, tc.want)
		}
	}
}

func TestParseDurations(t *testing.T) {
	tests := []struct {
		in      string
		want    []time.Duration
		wantErr string // substring of the error
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"48h,24h,6h,1h", DefaultRemind, ""},
		{" 15m , 1h,4h ,12h ", DefaultRedeliver, ""},
		{"90s", []time.Duration{90 * time.Second}, ""},
		{"1h30m,1h", []time.Duration{90 * time.Minute, time.Hour}, ""},
		{"1h,1h", []time.Duration{time.Hour, time.Hour}, ""},
		{"48", nil, `"48"`},
		{"1d", nil, `"1d"`},
		{"abc", nil, `"abc"`},
		{"1h,,2h", nil, `""`},
		{"1h,", nil, `""`},
		{",1h", nil, `""`},
		{"0s", nil, "must be positive"},
		{"1h,0", nil, "must be positive"},
		{"-1h", nil, "must be positive"},
		{"1h;2h", nil, `"1h;2h"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDurations(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseDurations(%q) = %v, %v; want an error containing %s", tc.in, got, err, tc.wantErr)
				}
				if got != nil {
					t.Errorf("ParseDurations(%q) returned %v with its error", tc.in, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("ParseDurations(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatDurations(t *testing.T) {
	for _, ds := range [][]time.Duration{DefaultRemind, DefaultRedeliver, {90 * time.Second}, nil} {
		s := FormatDurations(ds)
		back, err := ParseDurations(s)
		if err != nil || !slices.Equal(back, ds) {
			t.Errorf("ParseDurations(FormatDurations(%v) = %q) = %v, %v", ds, s, back, err)
		}
	}
	if got := FormatDurations(DefaultRemind); got != "48h0m0s,24h0m0s,6h0m0s,1h0m0s" {
		t.Errorf("FormatDurations(DefaultRemind) = %q", got)
	}
}

// TestWithdrawnNeedsNothing: a withdrawn notice gets no reminder,
// escalation or redelivery, whenever it is looked at, and the timers'
// re-check of a stale action (a notice withdrawn between reading and
// recording) records nothing.
func TestWithdrawnNeedsNothing(t *testing.T) {
	p := testPolicy()
	n := deliveredNotice(t)
	if len(p.Due(n, after(80*time.Hour))) == 0 {
		t.Fatal("the fixture needs nothing even unwithdrawn")
	}
	stale := p.Due(n, after(80*time.Hour))
	n.Withdraw(after(time.Hour), "not affected", 2)
	for _, at := range []time.Duration{0, 20 * time.Minute, 30 * time.Hour, 72 * time.Hour, 200 * time.Hour} {
		if due := p.Due(n, after(at)); len(due) != 0 {
			t.Errorf("due at +%v: %v", at, due)
		}
	}
	if next := p.Next(n); !next.IsZero() {
		t.Errorf("Next = %v, want zero", next)
	}
	tm := &Timers{policy: p}
	for _, a := range stale {
		if ev := tm.apply(n, a, after(80*time.Hour)); ev != "" {
			t.Errorf("stale %s applied to a withdrawn notice: %q", a.Kind, ev)
		}
	}
	if len(n.Reminders) != 0 || !n.OverdueAt.IsZero() || n.Redeliveries != 0 || n.Overdue(after(80*time.Hour)) {
		t.Errorf("withdrawn notice changed: %+v", n)
	}
}
