package breach

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestUpdateTargetsValidation(t *testing.T) {
	base := func() Update { return Update{Breach: "INC-1", Summary: "counts corrected"} }
	tests := []struct {
		name string
		edit func(u *Update)
		want []violation
	}{
		{"correct", func(u *Update) {
			u.CorrectAffected = []Affected{{Org: "acme", ApproxSubjects: 10, Status: StatusUnderInvestigation}}
		}, nil},
		{"withdraw", func(u *Update) { u.Withdraw = []WithdrawOrganisation{{Org: "acme", Statement: mxStatement}} }, nil},
		{"negative counts", func(u *Update) { u.CorrectAffected = []Affected{{Org: "acme", ApproxSubjects: -1, ApproxRecords: -5}} },
			[]violation{{"correct_affected[0].approx_subjects", "range"}, {"correct_affected[0].approx_records", "range"}}},
		{"not affected is a withdrawal", func(u *Update) { u.CorrectAffected = []Affected{{Org: "acme", Status: StatusNotAffected}} },
			[]violation{{"correct_affected[0].status", "not_affected"}}},
		{"unknown status", func(u *Update) { u.CorrectAffected = []Affected{{Org: "acme", Status: "7"}} },
			[]violation{{"correct_affected[0].status", "enum"}}},
		{"statement required", func(u *Update) { u.Withdraw = []WithdrawOrganisation{{Org: "acme"}} },
			[]violation{{"withdraw[0].statement", "required"}}},
		{"statement too long", func(u *Update) {
			u.Withdraw = []WithdrawOrganisation{{Org: "acme", Statement: strings.Repeat("x", MaxStatement+1)}}
		}, []violation{{"withdraw[0].statement", "too_long"}}},
		{"bad org id", func(u *Update) { u.Withdraw = []WithdrawOrganisation{{Org: "ACME!", Statement: "x"}} },
			[]violation{{"withdraw[0].org_id", "pattern"}}},
		{"named twice", func(u *Update) {
			u.AddAffected = []Affected{{Org: "acme"}}
			u.CorrectAffected = []Affected{{Org: "acme"}}
			u.Withdraw = []WithdrawOrganisation{{Org: "acme", Statement: "x"}}
		}, []violation{{"correct_affected[0].org_id", "duplicate"}, {"withdraw[0].org_id", "duplicate"}}},
		{"not affected in add_affected", func(u *Update) { u.AddAffected = []Affected{{Org: "acme", Status: StatusNotAffected}} },
			[]violation{{"add_affected[0].status", "not_affected"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := base()
			tc.edit(&u)
			if got := violationsOf(t, u.Validate()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("violations = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReportStatus(t *testing.T) {
	r := validReport()
	r.Affected[0].Status = StatusUnderInvestigation
	if err := r.Validate(t0); err != nil {
		t.Fatalf("under investigation: %v", err)
	}
	r.Affected[0].Status = StatusNotAffected
	if got := violationsOf(t, r.Validate(t0)); len(got) != 1 || got[0].reason != "not_affected" {
		t.Errorf("not affected in a report: %v", got)
	}
}

func TestTargeted(t *testing.T) {
	u := Update{Summary: "s", CorrectAffected: []Affected{{Org: "a"}}}
	if !u.Targeted() {
		t.Error("a correction alone is not targeted")
	}
	u.Nature = "new facts"
	if u.Targeted() {
		t.Error("a correction with new facts is targeted")
	}
	u = Update{Summary: "s", Withdraw: []WithdrawOrganisation{{Org: "a", Statement: "x"}}, AddAffected: []Affected{{Org: "b"}}}
	if u.Targeted() {
		t.Error("an update that adds is targeted")
	}
	if (&Update{Summary: "s"}).Targeted() {
		t.Error("an update with nothing is targeted")
	}
}

func TestFactsAndForWithCorrections(t *testing.T) {
	b := Breach{ID: "INC-1", Report: Report{Affected: []Affected{{Org: "a", ApproxSubjects: 1}, {Org: "b", ApproxSubjects: 2}}}}
	b.Revisions = []Revision{{Number: 2, Update: Update{CorrectAffected: []Affected{{Org: "a", ApproxSubjects: 100}},
		Withdraw: []WithdrawOrganisation{{Org: "b", Statement: "x"}}}, Corrected: 1, Withdrawn: 1}}
	f := b.Facts()
	if f.Affected[0].ApproxSubjects != 100 || f.Affected[1].Status != StatusNotAffected {
		t.Errorf("facts: %+v", f.Affected)
	}
	if b.Report.Affected[0].ApproxSubjects != 1 {
		t.Error("Facts changed the report")
	}
	fa := b.For("a")
	if r := fa.Revisions[0]; len(r.Update.Withdraw) != 0 || len(r.Update.CorrectAffected) != 1 || r.Corrected != 0 || r.Withdrawn != 0 {
		t.Errorf("For(a) shows another organisation's withdrawal or counts: %+v", r)
	}
	if r := b.For("b").Revisions[0]; len(r.Update.Withdraw) != 1 || len(r.Update.CorrectAffected) != 0 {
		t.Errorf("For(b): %+v", r)
	}
	if b.LatestShared() != 1 {
		t.Errorf("LatestShared = %d, want 1 (revision 2 is targeted)", b.LatestShared())
	}
}

// TestSummaryWithdrawn: a withdrawn notice counts in total and withdrawn
// only, never overdue; an outcome on it moves nothing; named again it
// counts as pending.
func TestSummaryWithdrawn(t *testing.T) {
	var s Summary
	n := pendingNotice()
	s.Apply(nil, &n)
	prev := n
	n.Deliver(t1, window, 1)
	s.Apply(&prev, &n)
	prev = n
	n.Withdraw(t1.Add(time.Hour), mxStatement, 2)
	s.Apply(&prev, &n)
	late := t1.Add(2 * window)
	if s.Total != 1 || s.Withdrawn != 1 || s.Delivered != 0 || s.Overdue(late) != 0 || !s.NextDeadline(t1).IsZero() {
		t.Fatalf("after withdrawal: %+v, overdue %d", s, s.Overdue(late))
	}
	if n.Overdue(late) {
		t.Error("a withdrawn notice is overdue")
	}
	prev = n
	if _, err := n.RecordNotReportable(late, mxActor, mxJustification); err != nil || n.State != StateWithdrawn {
		t.Fatalf("outcome on a withdrawn notice: %v, state %v", err, n.State)
	}
	c := Change{Prev: prev.State, PrevRevisionAcked: prev.RevisionAcked, Notice: n}
	if MovesSummary(c) {
		t.Error("an outcome on a withdrawn notice moves the summary")
	}
	prev = n
	n.Renotify(Affected{ApproxSubjects: 5}, 3)
	s.Apply(&prev, &n)
	if s.Total != 1 || s.Withdrawn != 0 || s.Delivered != 0 {
		t.Fatalf("after renotify: %+v", s)
	}
	prev = n
	n.Deliver(late, window, 3)
	s.Apply(&prev, &n)
	if s.Delivered != 1 || !n.Deadline.Equal(late.Add(window)) || s.Overdue(late) != 0 {
		t.Fatalf("new clock: %+v, deadline %v", s, n.Deadline)
	}
}

func TestSummaryAcknowledgedSince(t *testing.T) {
	s := Summary{RevisionAcked: map[int]int64{1: 3, 2: 2, 3: 1}}
	if got := s.AcknowledgedSince(2); got != 3 {
		t.Errorf("AcknowledgedSince(2) = %d, want 3", got)
	}
}
