package breach

import (
	"encoding/json"
	"errors"
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
	n.Deliver(t1, window)
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
	order := []State{StateUnspecified, StatePending, StateDelivered, StateAcknowledged, StateResolved}
	for i, s := range order {
		if int(s) != i {
			t.Errorf("%v = %d, want %d (stored records depend on the order)", s, int(s), i)
		}
	}
}

func TestStateInvalid(t *testing.T) {
	for _, s := range []State{-1, 5, 99} {
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
	if ev := n.Deliver(t1, window); ev != EventDelivered {
		t.Fatalf("first Deliver = %q, want %q", ev, EventDelivered)
	}
	want := pendingNotice()
	want.State = StateDelivered
	want.DeliveredAt = t1
	want.Deadline = t1.Add(window)
	want.DeliveryCount = 1
	if n != want {
		t.Fatalf("after first delivery:\n got %+v\nwant %+v", n, want)
	}

	later := t1.Add(time.Hour)
	for i := 2; i <= 3; i++ {
		if ev := n.Deliver(later, 2*window); ev != EventRedelivered {
			t.Fatalf("delivery %d = %q, want %q", i, ev, EventRedelivered)
		}
		want.DeliveryCount = i
		if n != want {
			t.Fatalf("after delivery %d (deadline must not move):\n got %+v\nwant %+v", i, n, want)
		}
	}
}

func TestNoticeDeliverAfterAck(t *testing.T) {
	n := deliveredNotice()
	if _, err := n.Acknowledge(t1.Add(time.Hour), "dpo@acme.example", ""); err != nil {
		t.Fatal(err)
	}
	before := n
	if ev := n.Deliver(t1.Add(2*time.Hour), window); ev != EventRedelivered {
		t.Fatalf("Deliver after ack = %q, want %q", ev, EventRedelivered)
	}
	before.DeliveryCount++
	if n != before {
		t.Errorf("Deliver after ack changed more than the count:\n got %+v\nwant %+v", n, before)
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

func TestNoticeAcknowledge(t *testing.T) {
	ackAt := t1.Add(time.Hour)
	tests := []struct {
		name        string
		start       func() Notice
		by, note    string
		wantChanged bool
		wantErr     error  // matched with errors.Is
		wantInvalid string // field of the *InvalidError
		wantState   State
	}{
		{name: "pending is illegal", start: pendingNotice, by: "dpo", wantErr: ErrIllegalTransition, wantState: StatePending},
		{name: "delivered", start: deliveredNotice, by: "dpo@acme.example", note: "received, investigating",
			wantChanged: true, wantState: StateAcknowledged},
		{name: "delivered without note", start: deliveredNotice, by: "dpo", wantChanged: true, wantState: StateAcknowledged},
		{name: "resolved is a no-op", start: func() Notice { n := deliveredNotice(); n.State = StateResolved; return n },
			by: "dpo", wantState: StateResolved},
		{name: "empty actor", start: deliveredNotice, by: "", wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "actor too long", start: deliveredNotice, by: strings.Repeat("ü", MaxActor+1), wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "actor at limit", start: deliveredNotice, by: strings.Repeat("ü", MaxActor), wantChanged: true, wantState: StateAcknowledged},
		{name: "actor invalid utf-8", start: deliveredNotice, by: "dp\xff", wantInvalid: "acknowledged_by", wantState: StateDelivered},
		{name: "note too long", start: deliveredNotice, by: "dpo", note: strings.Repeat("ü", MaxNote+1), wantInvalid: "note", wantState: StateDelivered},
		{name: "note at limit", start: deliveredNotice, by: "dpo", note: strings.Repeat("ü", MaxNote), wantChanged: true, wantState: StateAcknowledged},
		{name: "note invalid utf-8", start: deliveredNotice, by: "dpo", note: "\xc3", wantInvalid: "note", wantState: StateDelivered},
		{name: "invalid input on pending is invalid, not illegal", start: pendingNotice, by: "", wantInvalid: "acknowledged_by", wantState: StatePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.start()
			before := n
			changed, err := n.Acknowledge(ackAt, tc.by, tc.note)
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
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if n.State != tc.wantState {
				t.Errorf("state = %v, want %v", n.State, tc.wantState)
			}
			if !changed {
				if n != before {
					t.Errorf("unchanged notice was modified:\n got %+v\nwant %+v", n, before)
				}
				return
			}
			want := before
			want.State = StateAcknowledged
			want.AcknowledgedAt = ackAt
			want.AcknowledgedBy = tc.by
			want.AckNote = tc.note
			if n != want {
				t.Errorf("after ack:\n got %+v\nwant %+v", n, want)
			}
		})
	}
}

func TestNoticeAcknowledgeTwice(t *testing.T) {
	n := deliveredNotice()
	first := t1.Add(time.Hour)
	if changed, err := n.Acknowledge(first, "alice", "first"); err != nil || !changed {
		t.Fatalf("first Acknowledge = %v, %v; want true, nil", changed, err)
	}
	want := n
	changed, err := n.Acknowledge(first.Add(time.Hour), "bob", "second")
	if err != nil || changed {
		t.Fatalf("second Acknowledge = %v, %v; want false, nil", changed, err)
	}
	if n != want {
		t.Errorf("second ack changed the notice:\n got %+v\nwant %+v", n, want)
	}
	if n.AcknowledgedBy != "alice" || n.AckNote != "first" || !n.AcknowledgedAt.Equal(first) {
		t.Errorf("ack = %q %q %v, want the first one kept", n.AcknowledgedBy, n.AckNote, n.AcknowledgedAt)
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
	if !strings.Contains(string(b), `"state":"DELIVERED"`) || !strings.Contains(string(b), `"id":"INC-1/acme"`) {
		t.Errorf("JSON %s lacks the named state or text id", b)
	}
	for _, absent := range []string{"acknowledged_at", "acknowledged_by", "ack_note", "approx_subjects", "approx_records"} {
		if strings.Contains(string(b), `"`+absent+`"`) {
			t.Errorf("JSON %s has zero field %s, want it omitted", b, absent)
		}
	}
	var back Notice
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != n {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, n)
	}
}
