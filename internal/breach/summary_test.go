package breach

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
	"time"
)

// counts is the part of a Summary a step checks.
type counts struct{ total, delivered, acknowledged, resolved int64 }

func countsOf(s *Summary) counts {
	return counts{s.Total, s.Delivered, s.Acknowledged, s.Resolved}
}

// step is one notice change: prev is nil when the notice is created.
type step struct {
	name       string
	prev, next *Notice
	want       counts
	deadlines  map[int64]int64 // expected Deadlines; nil = empty
}

// lifecycle is the chain of changes one notice goes through, each with the
// summary expected after it when the notice is the only one.
func lifecycle(id OrgID, deliveredAt time.Time, window time.Duration) []step {
	created := &Notice{ID: NewNoticeID("INC-1", id), State: StatePending, CreatedAt: deliveredAt.Add(-time.Minute)}
	delivered := *created
	delivered.Deliver(deliveredAt, window, 1)
	redelivered := delivered
	redelivered.Deliver(deliveredAt.Add(time.Hour), window, 1)
	acked := redelivered
	if _, err := acked.Acknowledge(deliveredAt.Add(2*time.Hour), "dpo", "", 0); err != nil {
		panic(err)
	}
	resolved := acked
	resolved.State = StateResolved

	k := delivered.Deadline.Unix()
	if delivered.Deadline.Nanosecond() > 0 {
		k++
	}
	dl := map[int64]int64{k: 1}
	return []step{
		{"create", nil, created, counts{1, 0, 0, 0}, nil},
		{"deliver", created, &delivered, counts{1, 1, 0, 0}, dl},
		{"redeliver", &delivered, &redelivered, counts{1, 1, 0, 0}, dl},
		{"acknowledge", &redelivered, &acked, counts{1, 1, 1, 0}, dl},
		{"resolve", &acked, &resolved, counts{1, 1, 1, 1}, nil},
	}
}

func checkSummary(t *testing.T, s *Summary, want counts, deadlines map[int64]int64) {
	t.Helper()
	if got := countsOf(s); got != want {
		t.Errorf("counts (total, delivered, acknowledged, resolved) = %v, want %v", got, want)
	}
	if len(s.Deadlines) != len(deadlines) || !maps.Equal(s.Deadlines, deadlines) {
		t.Errorf("Deadlines = %v, want %v", s.Deadlines, deadlines)
	}
}

func TestSummaryApplyLifecycle(t *testing.T) {
	deliveredAt := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	steps := lifecycle("acme", deliveredAt, 72*time.Hour)
	var s Summary
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s.Apply(st.prev, st.next)
			checkSummary(t, &s, st.want, st.deadlines)
		})
	}
	t.Run("reverse", func(t *testing.T) {
		for i := len(steps) - 1; i >= 0; i-- {
			s.Apply(steps[i].next, steps[i].prev)
			var want counts
			var dl map[int64]int64
			if i > 0 {
				want, dl = steps[i-1].want, steps[i-1].deadlines
			}
			checkSummary(t, &s, want, dl)
		}
		if s.Total != 0 || s.Delivered != 0 || s.Acknowledged != 0 || s.Resolved != 0 || len(s.Deadlines) != 0 {
			t.Errorf("after reversing everything: %+v, want zero with empty Deadlines", s)
		}
	})
}

// TestSummaryApplyEachTransition applies every single transition to an empty
// summary, then its reverse, which must give zero again.
func TestSummaryApplyEachTransition(t *testing.T) {
	deliveredAt := time.Date(2024, 3, 1, 10, 0, 0, 500_000_000, time.UTC)
	steps := lifecycle("acme", deliveredAt, time.Hour)
	deadlineKey := time.Date(2024, 3, 1, 11, 0, 1, 0, time.UTC).Unix() // 11:00:00.5 rounded up
	tests := []struct {
		step
		want counts
		dl   map[int64]int64
	}{
		{steps[0], counts{1, 0, 0, 0}, nil},
		{steps[1], counts{0, 1, 0, 0}, map[int64]int64{deadlineKey: 1}},
		{steps[2], counts{0, 0, 0, 0}, nil},
		{steps[3], counts{0, 0, 1, 0}, nil},
		{steps[4], counts{0, 0, 0, 1}, map[int64]int64{deadlineKey: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Summary
			s.Apply(tc.prev, tc.next)
			checkSummary(t, &s, tc.want, tc.dl)
			s.Apply(tc.next, tc.prev)
			checkSummary(t, &s, counts{}, nil)
		})
	}
}

func TestSummaryApplyNil(t *testing.T) {
	var s Summary
	s.Apply(nil, nil)
	checkSummary(t, &s, counts{}, nil)
	if s.Deadlines != nil {
		t.Errorf("Apply(nil, nil) allocated Deadlines")
	}
}

func TestSummaryOverdueAndNextDeadline(t *testing.T) {
	day := func(h, m, s, ns int) time.Time { return time.Date(2024, 3, 4, h, m, s, ns, time.UTC) }
	// Three notices delivered so that their deadlines are:
	//   a: 10:00:00.5 (rounded up to 10:00:01)
	//   b: 10:00:01   (exact second, not rounded)
	//   c: 12:00:00
	window := 72 * time.Hour
	var s Summary
	var all [][]step
	for _, n := range []struct {
		org      OrgID
		deadline time.Time
	}{
		{"a", day(10, 0, 0, 500_000_000)},
		{"b", day(10, 0, 1, 0)},
		{"c", day(12, 0, 0, 0)},
	} {
		steps := lifecycle(n.org, n.deadline.Add(-window), window)
		if got := steps[1].next.Deadline; !got.Equal(n.deadline) {
			t.Fatalf("notice %s deadline = %v, want %v", n.org, got, n.deadline)
		}
		for _, st := range steps[:2] { // create, deliver
			s.Apply(st.prev, st.next)
		}
		all = append(all, steps)
	}
	if s.Total != 3 || s.Delivered != 3 {
		t.Fatalf("summary = %+v", s)
	}

	tests := []struct {
		name    string
		now     time.Time
		overdue int64
		next    time.Time
	}{
		{"long before", day(9, 0, 0, 0), 0, day(10, 0, 1, 0)},
		{"10:00:00", day(10, 0, 0, 0), 0, day(10, 0, 1, 0)},
		{"10:00:00.5 exact deadline of a: not yet overdue in the summary", day(10, 0, 0, 500_000_000), 0, day(10, 0, 1, 0)},
		{"10:00:00.9", day(10, 0, 0, 900_000_000), 0, day(10, 0, 1, 0)},
		{"10:00:01: a and b overdue", day(10, 0, 1, 0), 2, day(12, 0, 0, 0)},
		{"10:00:01.1", day(10, 0, 1, 100_000_000), 2, day(12, 0, 0, 0)},
		{"11:59:59.999", day(11, 59, 59, 999_999_999), 2, day(12, 0, 0, 0)},
		{"12:00:00: all overdue", day(12, 0, 0, 0), 3, time.Time{}},
		{"much later", day(23, 0, 0, 0), 3, time.Time{}},
		{"now in another zone", day(10, 0, 1, 0).In(time.FixedZone("CET", 3600)), 2, day(12, 0, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Overdue(tc.now); got != tc.overdue {
				t.Errorf("Overdue(%v) = %d, want %d", tc.now, got, tc.overdue)
			}
			got := s.NextDeadline(tc.now)
			if !got.Equal(tc.next) || got.IsZero() != tc.next.IsZero() {
				t.Errorf("NextDeadline(%v) = %v, want %v", tc.now, got, tc.next)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("NextDeadline location = %v, want UTC", got.Location())
			}
		})
	}

	// Summary.Overdue never runs ahead of Notice.Overdue, and trails it by
	// less than a second.
	t.Run("agrees with Notice.Overdue", func(t *testing.T) {
		n := all[0][1].next // a, deadline 10:00:00.5
		for _, now := range []time.Time{day(10, 0, 0, 0), day(10, 0, 0, 499_999_999), day(10, 0, 0, 500_000_000), day(10, 0, 0, 900_000_000), day(10, 0, 1, 0)} {
			var one Summary
			one.Apply(nil, n)
			if one.Overdue(now) == 1 && !n.Overdue(now) {
				t.Errorf("at %v the summary says overdue, the notice not", now)
			}
			if n.Overdue(now) && one.Overdue(now) == 0 && now.Sub(n.Deadline) >= time.Second {
				t.Errorf("at %v the summary trails the notice by a second or more", now)
			}
		}
	})

	// Acknowledging keeps a notice counted; resolving removes it.
	t.Run("ack keeps, resolve removes", func(t *testing.T) {
		s := s
		s.Deadlines = maps.Clone(s.Deadlines)
		late := day(13, 0, 0, 0)
		for _, st := range all[2][2:4] { // c: redeliver, ack
			s.Apply(st.prev, st.next)
		}
		if got := s.Overdue(late); got != 3 {
			t.Errorf("after acking c: Overdue = %d, want 3", got)
		}
		s.Apply(all[2][4].prev, all[2][4].next) // resolve c
		if got := s.Overdue(late); got != 2 {
			t.Errorf("after resolving c: Overdue = %d, want 2", got)
		}
		if got := s.NextDeadline(day(10, 0, 1, 0)); !got.IsZero() {
			t.Errorf("after resolving c: NextDeadline = %v, want zero", got)
		}
		if s.Acknowledged != 1 || s.Resolved != 1 {
			t.Errorf("summary = %+v", s)
		}
	})

	// Reversing every applied change brings the summary back to zero.
	t.Run("reverse", func(t *testing.T) {
		for _, steps := range all {
			for i := 1; i >= 0; i-- {
				s.Apply(steps[i].next, steps[i].prev)
			}
		}
		checkSummary(t, &s, counts{}, nil)
		if s.Overdue(day(23, 0, 0, 0)) != 0 || !s.NextDeadline(day(0, 0, 0, 0)).IsZero() {
			t.Errorf("empty summary still reports deadlines: %+v", s)
		}
	})
}

func TestSummaryEmpty(t *testing.T) {
	var s Summary
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	if s.Overdue(now) != 0 {
		t.Error("empty summary has overdue notices")
	}
	if !s.NextDeadline(now).IsZero() {
		t.Error("empty summary has a next deadline")
	}
}

func TestSummaryJSON(t *testing.T) {
	s := Summary{Breach: "INC-1", Total: 3, Delivered: 2, Acknowledged: 1, Deadlines: map[int64]int64{1709546401: 2}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"breach_id":"INC-1","total":3,"delivered":2,"acknowledged":1,"resolved":0,"deadlines":{"1709546401":2}}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip = %+v, want %+v", back, s)
	}
	if b, _ := json.Marshal(Summary{Breach: "x", Deadlines: map[int64]int64{}}); string(b) != `{"breach_id":"x","total":0,"delivered":0,"acknowledged":0,"resolved":0}` {
		t.Errorf("empty Deadlines JSON = %s, want the field omitted", b)
	}
}

// record is what the store does for one notice change: it keeps the state
// and acknowledged revision before the change, and the notice after it.
func record(n *Notice, ev Event, at time.Time, op func(n *Notice)) Change {
	prev, prevAcked := n.State, n.RevisionAcked
	op(n)
	return Change{Event: ev, At: at, Actor: "test", Prev: prev, PrevRevisionAcked: prevAcked, Notice: *n}
}

// TestSummaryApplyRevisions folds the change log of four notices through
// two revisions and checks the per-revision acknowledgement counts.
func TestSummaryApplyRevisions(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 3, 1, h, 0, 0, 0, time.UTC) }
	window := 72 * time.Hour
	orgs := []OrgID{"a", "b", "c", "d"}
	ns := map[OrgID]*Notice{}
	var log []Change
	for _, o := range orgs {
		n := &Notice{ID: NewNoticeID("INC-1", o), State: StatePending, CreatedAt: at(0)}
		ns[o] = n
		log = append(log, Change{Event: EventCreated, At: at(0), Actor: "test", Notice: *n})
	}
	deliver := func(o OrgID, h, rev int, want Event) {
		log = append(log, record(ns[o], want, at(h), func(n *Notice) {
			if ev := n.Deliver(at(h), window, rev); ev != want {
				t.Fatalf("%s: Deliver(rev %d) = %q, want %q", o, rev, ev, want)
			}
		}))
	}
	ack := func(o OrgID, h, rev int, want Event) {
		log = append(log, record(ns[o], want, at(h), func(n *Notice) {
			if ev, err := n.Acknowledge(at(h), "dpo", "", rev); err != nil || ev != want {
				t.Fatalf("%s: Acknowledge(rev %d) = %q, %v; want %q", o, rev, ev, err, want)
			}
		}))
	}
	for _, o := range orgs {
		deliver(o, 1, 1, EventDelivered)
	}
	ack("a", 2, 0, EventAcknowledged)
	ack("b", 2, 1, EventAcknowledged)
	for _, o := range orgs {
		deliver(o, 3, 2, EventRevisionDelivered)
	}
	deliver("b", 4, 2, EventRedelivered)
	ack("a", 5, 2, EventRevisionAcknowledged) // a: 1 -> 2
	ack("c", 5, 0, EventAcknowledged)         // c: first acknowledgement, of revision 2
	ack("b", 5, 1, "")                        // b: revision 1 again, no change
	log = append(log, record(ns["d"], EventOutcomeRecorded, at(6), func(n *Notice) {
		must(n.RecordNotReportable(at(6), "ctrl", "encrypted")) // d: resolving acknowledges revision 2
	}))

	var s Summary
	for i, c := range log {
		if c.Event == "" {
			continue // the store records no change without an event
		}
		prev := c.PrevNotice()
		if (prev == nil) != (c.Event == EventCreated) {
			t.Fatalf("change %d (%s): PrevNotice = %v", i, c.Event, prev)
		}
		s.Apply(prev, &c.Notice)
	}
	if got, want := countsOf(&s), (counts{4, 4, 4, 1}); got != want {
		t.Errorf("counts = %v, want %v", got, want)
	}
	if got := s.AcknowledgedRevision(2); got != 3 {
		t.Errorf("AcknowledgedRevision(2) = %d, want 3 (a, c, d)", got)
	}
	if got := s.AcknowledgedRevision(1); got != 1 {
		t.Errorf("AcknowledgedRevision(1) = %d, want 1 (b)", got)
	}
	if got := s.AcknowledgedRevision(3); got != 0 {
		t.Errorf("AcknowledgedRevision(3) = %d, want 0", got)
	}
	if want := map[int]int64{1: 1, 2: 3}; !maps.Equal(s.RevisionAcked, want) {
		t.Errorf("RevisionAcked = %v, want %v", s.RevisionAcked, want)
	}

	// The incremental summary equals one built from the final notices.
	var fresh Summary
	for _, o := range orgs {
		fresh.Apply(nil, ns[o])
	}
	if !reflect.DeepEqual(fresh, s) {
		t.Errorf("incremental summary %+v != summary of the final notices %+v", s, fresh)
	}

	// Undoing every change, newest first, gives the empty summary.
	for i := len(log) - 1; i >= 0; i-- {
		if c := log[i]; c.Event != "" {
			s.Apply(&c.Notice, c.PrevNotice())
		}
	}
	if s.Total != 0 || s.Delivered != 0 || s.Acknowledged != 0 || s.Resolved != 0 || len(s.Deadlines) != 0 || len(s.RevisionAcked) != 0 {
		t.Errorf("after undoing everything: %+v, want zero", s)
	}
}

func TestChangePrevNotice(t *testing.T) {
	n := deliveredNotice()
	must(n.Acknowledge(t1.Add(time.Hour), "dpo", "", 0))
	n.Deliver(t1.Add(2*time.Hour), window, 2)
	next := n
	must(next.Acknowledge(t1.Add(3*time.Hour), "dpo", "", 0))

	c := Change{Event: EventRevisionAcknowledged, At: t1.Add(3 * time.Hour), Prev: n.State, PrevRevisionAcked: n.RevisionAcked, Notice: next}
	p := c.PrevNotice()
	if p == nil {
		t.Fatal("PrevNotice = nil")
	}
	if p.State != StateAcknowledged || p.RevisionAcked != 1 {
		t.Errorf("PrevNotice state %v, revision acked %d; want ACKNOWLEDGED, 1", p.State, p.RevisionAcked)
	}
	if !p.Deadline.Equal(n.Deadline) || p.ID != n.ID || p.Revision != next.Revision {
		t.Errorf("PrevNotice = %+v, want the notice with the previous state and acknowledged revision", p)
	}
	if c.Notice.RevisionAcked != 2 {
		t.Errorf("PrevNotice modified the change's notice: RevisionAcked = %d", c.Notice.RevisionAcked)
	}
	var s Summary
	s.Apply(nil, p)
	s.Apply(p, &c.Notice)
	if s.AcknowledgedRevision(1) != 0 || s.AcknowledgedRevision(2) != 1 {
		t.Errorf("RevisionAcked = %v, want {2: 1}", s.RevisionAcked)
	}

	// A creation has no previous notice.
	if p := (Change{Event: EventCreated, Notice: *pendingNoticePtr()}).PrevNotice(); p != nil {
		t.Errorf("PrevNotice of a creation = %+v, want nil", p)
	}

	// The JSON form carries the previous acknowledged revision.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Change
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.PrevRevisionAcked != 1 || back.Prev != StateAcknowledged || !reflect.DeepEqual(back.PrevNotice(), p) {
		t.Errorf("JSON round trip %s lost the previous revision: %+v", b, back)
	}
}

func pendingNoticePtr() *Notice { n := pendingNotice(); return &n }

func TestSummaryJSONRevisionAcked(t *testing.T) {
	s := Summary{Breach: "INC-1", Total: 2, Delivered: 2, Acknowledged: 2, RevisionAcked: map[int]int64{1: 1, 2: 1}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"breach_id":"INC-1","total":2,"delivered":2,"acknowledged":2,"resolved":0,"revision_acked":{"1":1,"2":1}}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, s)
	}
}

// TestMovesSummary: a change MovesSummary calls still does not change a
// summary at all when folded, and the ones that do change it are all
// reported, for every step of a notice's life plus a reminder, an
// escalation and a revision.
func TestMovesSummary(t *testing.T) {
	deliveredAt := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	steps := lifecycle("acme", deliveredAt, 72*time.Hour)
	delivered := *steps[1].next
	reminded := delivered
	reminded.Remind(24*time.Hour, deliveredAt.Add(48*time.Hour), deliveredAt.Add(48*time.Hour), false)
	overdue := reminded
	overdue.MarkOverdue(deliveredAt.Add(73 * time.Hour))
	revised := overdue
	revised.Deliver(deliveredAt.Add(74*time.Hour), 72*time.Hour, 2)
	steps = append(steps,
		step{name: "remind", prev: &delivered, next: &reminded},
		step{name: "overdue", prev: &reminded, next: &overdue},
		step{name: "revision", prev: &overdue, next: &revised},
	)
	moved := map[string]bool{}
	for _, st := range steps {
		c := Change{Notice: *st.next}
		if st.prev != nil {
			c.Prev, c.PrevRevisionAcked = st.prev.State, st.prev.RevisionAcked
		}
		base := Summary{Total: 5, Delivered: 3, Acknowledged: 2, Resolved: 1,
			RevisionAcked: map[int]int64{1: 2}, Deadlines: map[int64]int64{deliveredAt.Unix(): 2}}
		before, _ := json.Marshal(base)
		base.Apply(c.PrevNotice(), &c.Notice)
		after, _ := json.Marshal(base)
		changed := string(before) != string(after)
		if MovesSummary(c) != changed {
			t.Errorf("%s: MovesSummary %v, but folding it changed the summary: %v", st.name, MovesSummary(c), changed)
		}
		moved[st.name] = changed
	}
	for name, want := range map[string]bool{"create": true, "deliver": true, "acknowledge": true, "resolve": true,
		"redeliver": false, "remind": false, "overdue": false, "revision": false} {
		if moved[name] != want {
			t.Errorf("%s moves the summary: %v, want %v", name, moved[name], want)
		}
	}
}

func TestSplitCreatedAndDelivered(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2024, 3, 1, h, 0, 0, 0, time.UTC) }
	n := Notice{ID: NewNoticeID("B", "org-a"), State: StatePending, CreatedAt: at(0)}
	n.Deliver(at(1), 72*time.Hour, 1)
	c := Change{Event: EventDelivered, At: at(1), Actor: "cascade", Created: true, Detail: "revision 1", Notice: n}
	got := c.Split()
	if len(got) != 2 {
		t.Fatalf("split into %d, want 2", len(got))
	}
	cr, dl := got[0], got[1]
	if cr.Event != EventCreated || !cr.At.Equal(at(0)) || cr.Prev != StateUnspecified || cr.Notice.State != StatePending ||
		!cr.Notice.DeliveredAt.IsZero() || !cr.Notice.Deadline.IsZero() || cr.Notice.Revision != 0 || cr.Notice.DeliveryCount != 0 {
		t.Errorf("creation = %+v", cr)
	}
	if dl.Event != EventDelivered || dl.Created || dl.Prev != StatePending || dl.Notice.State != StateDelivered || !dl.Notice.Deadline.Equal(at(1).Add(72*time.Hour)) {
		t.Errorf("delivery = %+v", dl)
	}
	// Counted as one record or as its two entries, the summary is the same.
	var one, two Summary
	one.Apply(c.PrevNotice(), &c.Notice)
	for _, e := range got {
		two.Apply(e.PrevNotice(), &e.Notice)
	}
	if one.Total != 1 || one.Delivered != 1 || one.Total != two.Total || one.Delivered != two.Delivered {
		t.Errorf("summary of the record %+v, of its entries %+v", one, two)
	}
	if plain := (Change{Event: EventAcknowledged, Notice: n}).Split(); len(plain) != 1 {
		t.Errorf("a plain record split into %d", len(plain))
	}
}
