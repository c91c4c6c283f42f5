package breach

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	t0     = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC) // creation
	t1     = t0.Add(90 * time.Second)                     // first delivery
	window = 72 * time.Hour
)

func pendingNotice() Notice {
	return Notice{
		ID:           NewNoticeID("INC-1", "acme"),
		OrgName:      "Acme AB",
		State:        StatePending,
		CreatedAt:    t0,
		DiscoveredAt: t0.Add(-24 * time.Hour),
	}
}

func deliveredNotice() Notice {
	n := pendingNotice()
	n.Deliver(t1, window, 1)
	return n
}

func TestStateNames(t *testing.T) {
	tests := []struct {
		state State
		name  string
	}{
		{StateUnspecified, "UNSPECIFIED"},
		{StatePending, "PENDING"},
		{StateDelivered, "DELIVERED"},
		{StateAcknowledged, "ACKNOWLEDGED"},
		{StateResolved, "RESOLVED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.state.String(); got != tc.name {
				t.Errorf("String() = %q, want %q", got, tc.name)
			}
			b, err := tc.state.MarshalText()
			if err != nil || string(b) != tc.name {
				t.Fatalf("MarshalText() = %q, %v; want %q", b, err, tc.name)
			}
			got := State(-42)
			if err := got.UnmarshalText(b); err != nil {
				t.Fatalf("UnmarshalText(%q): %v", b, err)
			}
			if got != tc.state {
				t.Errorf("UnmarshalText(%q) = %v, want %v", b, got, tc.state)
			}

			// JSON uses the name.
			j, err := json.Marshal(tc.state)
			if err != nil || string(j) != `"`+tc.name+`"` {
				t.Fatalf("json.Marshal = %s, %v", j, err)
			}
			var back State
			if err := json.Unmarshal(j, &back); err != nil || back != tc.state {
				t.Errorf("json round trip = %v, %v; want %v", back, err, tc.state)
			}

			// ParseState accepts every real state but not UNSPECIFIED.
			p, err := ParseState(tc.name)
			if tc.state == StateUnspecified {
				if err == nil {
					t.Errorf("ParseState(%q) = %v, want error", tc.name, p)
				}
				return
			}
			if err != nil || p != tc.state {
				t.Errorf("ParseState(%q) = %v, %v; want %v", tc.name, p, err, tc.state)
			}
		})
	}
}

func TestStateOrder(t *testing.T) {
	order := []State{StateUnspecified, StatePending, StateDelivered, StateAcknowledged, StateResolved, StateWithdrawn}
	for i, s := range order {
		if int(s) != i {
			t.Errorf("%v = %d, want %d (stored records depend on the order)", s, int(s), i)
		}
	}
}

func TestStateInvalid(t *testing.T) {
	for _, s := range []State{-1, 6, 99} {
		if got, want := s.String(), "State("; !strings.HasPrefix(got, want) {
			t.Errorf("State(%d).String() = %q, want prefix %q", int(s), got, want)
		}
	}
	for _, name := range []string{"", "pending", "Delivered", "DONE", "State(5)", " PENDING"} {
		t.Run(name, func(t *testing.T) {
			if s, err := ParseState(name); err == nil {
				t.Errorf("ParseState(%q) = %v, want error", name, s)
			}
			s := StateDelivered
			if err := s.UnmarshalText([]byte(name)); err == nil {
				t.Errorf("UnmarshalText(%q) = nil, want error", name)
			}
			if s != StateDelivered {
				t.Errorf("UnmarshalText(%q) changed the state on error to %v", name, s)
			}
		})
	}
}

func TestNoticeDeliver(t *testing.T) {
	n := pendingNotice()
	if ev := n.Deliver(t1, window, 1); ev != EventDelivered {
		t.Fatalf("first Deliver = %q, want %q", ev, EventDelivered)
	}
	want := pendingNotice()
	want.State = StateDelivered
	want.DeliveredAt = t1
	want.Deadline = t1.Add(window)
	want.DeliveryCount = 1
	want.Revision = 1
	want.LastDeliveryAt = t1
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("after first delivery:\n got %+v\nwant %+v", n, want)
	}

	later := t1.Add(time.Hour)
	for i := 2; i <= 3; i++ {
		if ev := n.Deliver(later, 2*window, 1); ev != EventRedelivered {
			t.Fatalf("delivery %d = %q, want %q", i, ev, EventRedelivered)
		}
		want.DeliveryCount = i
		want.LastDeliveryAt = later
		want.Redeliveries = i - 1
		if !reflect.DeepEqual(n, want) {
			t.Fatalf("after delivery %d (deadline must not move):\n got %+v\nwant %+v", i, n, want)
		}
	}

	// A newer revision is a revision delivery: it restarts the redelivery
	// backoff but never moves the deadline or the first delivery time.
	rev2At := t1.Add(2 * time.Hour)
	if ev := n.Deliver(rev2At, 2*window, 2); ev != EventRevisionDelivered {
		t.Fatalf("revision 2 = %q, want %q", ev, EventRevisionDelivered)
	}
	want.DeliveryCount = 4
	want.LastDeliveryAt = rev2At
	want.Revision = 2
	want.Redeliveries = 0
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("after revision 2:\n got %+v\nwant %+v", n, want)
	}

	// An older revision again is a redelivery; the revision does not go back.
	if ev := n.Deliver(rev2At.Add(time.Hour), window, 1); ev != EventRedelivered {
		t.Fatalf("revision 1 after 2 = %q, want %q", ev, EventRedelivered)
	}
	want.DeliveryCount = 5
	want.LastDeliveryAt = rev2At.Add(time.Hour)
	want.Redeliveries = 1
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("after revision 1 again:\n got %+v\nwant %+v", n, want)
	}
}

func TestNoticeDeliverAfterAck(t *testing.T) {
	n := deliveredNotice()
	if _, err := n.Acknowledge(t1.Add(time.Hour), "dpo@acme.example", "", 0); err != nil {
		t.Fatal(err)
	}
	before := n
	at := t1.Add(2 * time.Hour)
	if ev := n.Deliver(at, window, 1); ev != EventRedelivered {
		t.Fatalf("Deliver after ack = %q, want %q", ev, EventRedelivered)
	}
	before.DeliveryCount++
	before.LastDeliveryAt = at
	before.Redeliveries++
	if !reflect.DeepEqual(n, before) {
		t.Errorf("Deliver after ack changed more than the delivery bookkeeping:\n got %+v\nwant %+v", n, before)
	}
	if n.NeedsAck() {
		t.Errorf("NeedsAck after acknowledging the only revision = true")
	}
}

func TestProcessorDelay(t *testing.T) {
	tests := []struct {
		name string
		n    Notice
		want time.Duration
	}{
		{"pending", pendingNotice(), 0},
		{"delivered", deliveredNotice(), 24*time.Hour + 90*time.Second},
		{"delivered without discovered_at", func() Notice { n := deliveredNotice(); n.DiscoveredAt = time.Time{}; return n }(), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.ProcessorDelay(); got != tc.want {
				t.Errorf("ProcessorDelay() = %v, want %v", got, tc.want)
			}
		})
	}
}

// must panics on err: fixtures are built by legal transitions only.
func must(ev Event, err error) Event {
	if err != nil {
		panic(err)
	}
	return ev
}

// resolvedNotice is a delivered notice resolved by an outcome, which
// implies acknowledging the delivered revision.
func resolvedNotice() Notice {
	n := deliveredNotice()
	must(n.RecordNotReportable(t1.Add(30*time.Minute), "ctrl", "the data was encrypted"))
	return n
}

func TestNoticeAcknowledge(t *testing.T) {
	ackAt := t1.Add(time.Hour)
	tests := []struct {
		name        string
		start       func() Notice
		by, note    string
		wantEvent   Event
		wantErr     error  // matched with errors.Is
		wantInvalid string // field of the *InvalidError
		wantState   State
	}{
		{name: "pending is illegal", start: pendingNotice, by: "dpo", wantErr: ErrIllegalTransition, wantState: StatePending},
		{name: "unspecified is illegal", start: func() Notice { n := pendingNotice(); n.State = StateUnspecified; return n },
			by: "dpo", wantErr: ErrIllegalTransition, wantState: StateUnspecified},
		{name: "delivered", start: deliveredNotice, by: "dpo@acme.example", note: "received, investigating",
			wantEvent: EventAcknowledged, wantState: StateAcknowledged},
		{name: "delivered without note", start: deliveredNotice, by: "dpo", wantEvent: EventAcknowledged, wantState: StateAcknowledged},
		// resolve() acknowledged the delivered revision: nothing is left to acknowledge.
		{name: "resolved is a no-op", start: resolvedNotice, by: "dpo", wantState: StateResolved},
		// A revision delivered after the outcome still wants its acknowledgement.
		{name: "resolved with a newer revision", start: func() Notice {
			n := resolvedNotice()
			n.Deliver(t1.Add(40*time.Minute), window, 2)
			return n
		}, by: "dpo", wantEvent: EventRevisionAcknowledged, wantState: StateResolved},
		{name: "acknowledged with a newer revision", start: func() Notice {
			n := deliveredNotice()
			must(n.Acknowledge(t1.Add(10*time.Minute), "alice", "first", 0))
			n.Deliver(t1.Add(40*time.Minute), window, 2)
			return n
		}, by: "dpo", note: "got the update", wantEvent: EventRevisionAcknowledged, wantState: StateAcknowledged},
		{name: "empty actor", start: deliveredNotice, by: "", wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "actor too long", start: deliveredNotice, by: strings.Repeat("ü", MaxActor+1), wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "actor at limit", start: deliveredNotice, by: strings.Repeat("ü", MaxActor), wantEvent: EventAcknowledged, wantState: StateAcknowledged},
		{name: "actor invalid utf-8", start: deliveredNotice, by: "dp\xff", wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "note too long", start: deliveredNotice, by: "dpo", note: strings.Repeat("ü", MaxNote+1), wantInvalid: "note", wantState: StateDelivered},
		{name: "note at limit", start: deliveredNotice, by: "dpo", note: strings.Repeat("ü", MaxNote), wantEvent: EventAcknowledged, wantState: StateAcknowledged},
		{name: "note invalid utf-8", start: deliveredNotice, by: "dpo", note: "\xc3", wantInvalid: "note", wantState: StateDelivered},
		{name: "invalid input on pending is invalid, not illegal", start: pendingNotice, by: "", wantInvalid: "acknowledged_by", wantState: StatePending},
		{name: "invalid input on resolved is invalid", start: resolvedNotice, by: "", wantInvalid: "acknowledged_by", wantState: StateResolved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.start()
			before := tc.start()
			ev, err := n.Acknowledge(ackAt, tc.by, tc.note, 0)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Acknowledge error = %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), n.ID.String()) {
					t.Errorf("error %q does not name the notice", err)
				}
			case tc.wantInvalid != "":
				var inv *InvalidError
				if !errors.As(err, &inv) {
					t.Fatalf("Acknowledge error = %v (%T), want *InvalidError", err, err)
				}
				if len(inv.Violations) != 1 || inv.Violations[0].Field != tc.wantInvalid {
					t.Errorf("violations = %+v, want one on %q", inv.Violations, tc.wantInvalid)
				}
			default:
				if err != nil {
					t.Fatalf("Acknowledge error = %v", err)
				}
			}
			if ev != tc.wantEvent {
				t.Errorf("event = %q, want %q", ev, tc.wantEvent)
			}
			if n.State != tc.wantState {
				t.Errorf("state = %v, want %v", n.State, tc.wantState)
			}
			want := before
			if ev != "" {
				want.State = tc.wantState
				want.RevisionAcked = before.Revision // 0 acknowledges the latest delivered revision
				if tc.wantEvent == EventAcknowledged {
					want.AcknowledgedAt = ackAt
					want.AcknowledgedBy = tc.by
					want.AckNote = tc.note
				} // a later revision keeps the first acknowledgement's time, actor and note
			}
			if !reflect.DeepEqual(n, want) {
				t.Errorf("after Acknowledge:\n got %+v\nwant %+v", n, want)
			}
			if !n.Deadline.Equal(before.Deadline) {
				t.Errorf("deadline moved from %v to %v", before.Deadline, n.Deadline)
			}
		})
	}
}

func TestNoticeAcknowledgeTwice(t *testing.T) {
	n := deliveredNotice()
	first := t1.Add(time.Hour)
	if ev, err := n.Acknowledge(first, "alice", "first", 0); err != nil || ev != EventAcknowledged {
		t.Fatalf("first Acknowledge = %q, %v; want %q, nil", ev, err, EventAcknowledged)
	}
	want := n
	for _, rev := range []int{0, 1} {
		ev, err := n.Acknowledge(first.Add(time.Hour), "bob", "second", rev)
		if err != nil || ev != "" {
			t.Fatalf("second Acknowledge(rev %d) = %q, %v; want \"\", nil", rev, ev, err)
		}
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("second ack changed the notice:\n got %+v\nwant %+v", n, want)
	}
	if n.AcknowledgedBy != "alice" || n.AckNote != "first" || !n.AcknowledgedAt.Equal(first) || n.RevisionAcked != 1 {
		t.Errorf("ack = %q %q %v rev %d, want the first one kept", n.AcknowledgedBy, n.AckNote, n.AcknowledgedAt, n.RevisionAcked)
	}
}

// TestNoticeAcknowledgeRevisions walks a notice through three revisions,
// acknowledging them out of order.
func TestNoticeAcknowledgeRevisions(t *testing.T) {
	n := deliveredNotice()
	n.Deliver(t1.Add(time.Hour), window, 2)
	n.Deliver(t1.Add(2*time.Hour), window, 3)
	at := func(h int) time.Time { return t1.Add(time.Duration(h) * time.Hour) }
	steps := []struct {
		name      string
		rev       int
		wantEvent Event
		wantErr   error
		wantAcked int
		needsAck  bool
	}{
		{"negative revision", -1, "", ErrIllegalTransition, 0, true},
		{"undelivered revision", 4, "", ErrIllegalTransition, 0, true},
		{"first ack of an older revision", 2, EventAcknowledged, nil, 2, true},
		{"older than acknowledged", 1, "", nil, 2, true},
		{"same again", 2, "", nil, 2, true},
		{"latest by number", 3, EventRevisionAcknowledged, nil, 3, false},
		{"latest by 0 again", 0, "", nil, 3, false},
		{"still undelivered", 4, "", ErrIllegalTransition, 3, false},
	}
	for i, st := range steps {
		before := n
		ev, err := n.Acknowledge(at(10+i), "dpo", "", st.rev)
		if !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: Acknowledge(rev %d) error = %v, want %v", st.name, st.rev, err, st.wantErr)
		}
		if ev != st.wantEvent {
			t.Errorf("%s: event = %q, want %q", st.name, ev, st.wantEvent)
		}
		if n.RevisionAcked != st.wantAcked {
			t.Errorf("%s: RevisionAcked = %d, want %d", st.name, n.RevisionAcked, st.wantAcked)
		}
		if n.NeedsAck() != st.needsAck {
			t.Errorf("%s: NeedsAck = %v, want %v", st.name, n.NeedsAck(), st.needsAck)
		}
		if ev == "" && !reflect.DeepEqual(n, before) {
			t.Errorf("%s: no event but the notice changed:\n got %+v\nwant %+v", st.name, n, before)
		}
		if n.State != StateAcknowledged && st.wantAcked > 0 {
			t.Errorf("%s: state = %v, want ACKNOWLEDGED", st.name, n.State)
		}
	}
	// The first acknowledgement's time and actor are kept.
	if !n.AcknowledgedAt.Equal(at(12)) {
		t.Errorf("AcknowledgedAt = %v, want the first acknowledgement's %v", n.AcknowledgedAt, at(12))
	}
}

// TestNoticeAcknowledgeLegacyRecord: a notice stored before revisions were
// tracked decodes with Revision 0; it must still be acknowledgeable.
func TestNoticeAcknowledgeLegacyRecord(t *testing.T) {
	const old = `{"id":"INC-1/acme","state":"DELIVERED","created_at":"2024-03-01T10:00:00Z","delivered_at":"2024-03-01T10:01:30Z","deadline":"2024-03-04T10:01:30Z","delivery_count":1}`
	var n Notice
	if err := json.Unmarshal([]byte(old), &n); err != nil {
		t.Fatal(err)
	}
	ev, err := n.Acknowledge(t1.Add(time.Hour), "dpo", "", 0)
	if err != nil || ev != EventAcknowledged || n.State != StateAcknowledged {
		t.Errorf("Acknowledge legacy delivered notice = %q, %v, state %v; want %q, nil, ACKNOWLEDGED", ev, err, n.State, EventAcknowledged)
	}
}

func TestValidateAck(t *testing.T) {
	tests := []struct {
		name     string
		by, note string
		want     []violation
	}{
		{"ok", "dpo", "note", nil},
		{"ok without note", "dpo", "", nil},
		{"actor required", "", "", []violation{{"acknowledged_by", "required"}}},
		{"actor too long", strings.Repeat("x", MaxActor+1), "", []violation{{"acknowledged_by", "too_long"}}},
		{"note too long", "dpo", strings.Repeat("x", MaxNote+1), []violation{{"note", "too_long"}}},
		{"both", "", strings.Repeat("x", MaxNote+1), []violation{{"acknowledged_by", "required"}, {"note", "too_long"}}},
		// Invalid UTF-8 is reported under the same reason as length.
		{"actor invalid utf-8", "\xff", "", []violation{{"acknowledged_by", "encoding"}}},
		{"note invalid utf-8", "dpo", "\xff", []violation{{"note", "encoding"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := violationsOf(t, ValidateAck(tc.by, tc.note))
			if len(got) != len(tc.want) {
				t.Fatalf("violations = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("violation %d = %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestNoticeOverdue(t *testing.T) {
	deadline := t1.Add(window)
	withState := func(s State) Notice { n := deliveredNotice(); n.State = s; return n }
	tests := []struct {
		name string
		n    Notice
		now  time.Time
		want bool
	}{
		{"delivered before deadline", withState(StateDelivered), deadline.Add(-time.Nanosecond), false},
		{"delivered at deadline", withState(StateDelivered), deadline, true},
		{"delivered after deadline", withState(StateDelivered), deadline.Add(time.Hour), true},
		{"delivered at deadline in another zone", withState(StateDelivered), deadline.In(time.FixedZone("CET", 3600)), true},
		{"acknowledged before deadline", withState(StateAcknowledged), deadline.Add(-time.Second), false},
		{"acknowledged at deadline", withState(StateAcknowledged), deadline, true},
		{"acknowledged after deadline", withState(StateAcknowledged), deadline.Add(time.Second), true},
		{"resolved before deadline", withState(StateResolved), deadline.Add(-time.Second), false},
		{"resolved at deadline", withState(StateResolved), deadline, false},
		{"resolved after deadline", withState(StateResolved), deadline.Add(1000 * time.Hour), false},
		{"pending long after creation", pendingNotice(), t0.Add(1000 * time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.n.Overdue(tc.now); got != tc.want {
				t.Errorf("Overdue(%v) = %v, want %v (deadline %v, state %v)", tc.now, got, tc.want, tc.n.Deadline, tc.n.State)
			}
		})
	}
}

// TestNoticeJSONState: the stored notice names its state, so reordering the
// constants cannot silently change old records.
func TestNoticeJSONState(t *testing.T) {
	n := deliveredNotice()
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, present := range []string{`"state":"DELIVERED"`, `"id":"INC-1/acme"`, `"revision_delivered":1`, `"last_delivery_at":"2024-03-01T10:01:30Z"`} {
		if !strings.Contains(string(b), present) {
			t.Errorf("JSON %s lacks %s", b, present)
		}
	}
	for _, absent := range []string{"acknowledged_at", "acknowledged_by", "ack_note", "approx_subjects", "approx_records",
		"revision_acknowledged", "redeliveries", "reminders", "overdue_notified_at", "resolved_at", "outcome", "subject_communication"} {
		if strings.Contains(string(b), `"`+absent+`"`) {
			t.Errorf("JSON %s has zero field %s, want it omitted", b, absent)
		}
	}
	var back Notice
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, n) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, n)
	}
}

// TestNoticeJSONRoundTripFull: every field of a notice that went through
// the whole life cycle survives the stored JSON form.
func TestNoticeJSONRoundTripFull(t *testing.T) {
	n := deliveredNotice()
	n.Deliver(t1.Add(15*time.Minute), window, 1)
	n.Remind(48*time.Hour, n.Deadline.Add(-48*time.Hour), n.Deadline.Add(-47*time.Hour), true)
	must(n.Acknowledge(t1.Add(time.Hour), "dpo", "note", 0))
	n.Deliver(t1.Add(2*time.Hour), window, 2)
	n.MarkOverdue(n.Deadline)
	must(n.RecordAuthorityReport(n.Deadline.Add(2*time.Hour), "ctrl", "IMY", "IMY-1", n.Deadline.Add(time.Hour), "forensics"))
	must(n.RecordSubjectCommunication(n.Deadline.Add(2*time.Hour), "ctrl", SubjectCommunication{Kind: CommExempt, Exemption: ExemptDisproportion, PublicCommunication: "press release"}))
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, present := range []string{`"revision_acknowledged":1`, `"revision_delivered":2`, `"reminders":[`, `"late":true`,
		`"overdue_notified_at"`, `"resolved_at"`, `"kind":"REPORTED_TO_AUTHORITY"`, `"kind":"EXEMPT"`, `"exemption":"C_DISPROPORTIONATE"`} {
		if !strings.Contains(string(b), present) {
			t.Errorf("JSON %s lacks %s", b, present)
		}
	}
	var back Notice
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, n) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, n)
	}
}
