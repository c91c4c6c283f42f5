package breach

import (
	"errors"
	"testing"
	"time"
)

func TestValidatePromise(t *testing.T) {
	at := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		next   time.Time
		reason string // "" valid
	}{
		{"none", time.Time{}, ""},
		{"an hour ahead", at.Add(time.Hour), ""},
		{"within the skew", at.Add(-PromiseSkew), ""},
		{"past", at.Add(-PromiseSkew - time.Second), "past"},
		{"90 days", at.Add(MaxPromiseAhead), ""},
		{"too far", at.Add(MaxPromiseAhead + time.Second), "too_far"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePromise(tc.next, at)
			var inv *InvalidError
			switch {
			case tc.reason == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.reason == "":
			case !errors.As(err, &inv) || inv.Violations[0].Field != "next_update_by" || inv.Violations[0].Reason != tc.reason:
				t.Fatalf("error %v; want reason %s on next_update_by", err, tc.reason)
			}
		})
	}
}

func TestPromiseKeptMissed(t *testing.T) {
	t0 := time.Date(2025, 8, 23, 14, 0, 0, 0, time.UTC)
	by := t0.Add(4 * time.Hour)
	var p Promise
	p.Make(by, t0, 1)
	if !p.Open() || p.Overdue(by) || !p.Overdue(by.Add(time.Second)) || p.LateBy(by.Add(time.Minute)) != time.Minute {
		t.Fatalf("open promise %+v", p)
	}
	// Kept at the promised time exactly.
	if out := p.Settle(by); out != PromiseKept || p.Kept != 1 || p.Missed != 0 || p.Open() {
		t.Fatalf("kept: %s %+v", out, p)
	}
	// No promise open: an update changes nothing.
	if out := p.Settle(by); out != "" || p.Kept != 1 {
		t.Fatalf("none open: %s %+v", out, p)
	}
	// Missed: marked overdue once, then a late update does not count it again.
	by2 := by.Add(time.Hour)
	p.Make(by2, by, 2)
	if !p.MarkReminded(by2, by2.Add(-time.Minute)) || p.MarkReminded(by2, by2) {
		t.Fatal("reminded not once")
	}
	if p.MarkOverdue(by2, by2.Add(-time.Second)) || p.MarkOverdue(by, by2) {
		t.Fatal("marked overdue before its time, or for another promise")
	}
	if !p.MarkOverdue(by2, by2) || p.MarkOverdue(by2, by2.Add(time.Hour)) || p.Missed != 1 {
		t.Fatalf("overdue not once: %+v", p)
	}
	if out := p.Settle(by2.Add(time.Hour)); out != PromiseLate || p.Missed != 1 || p.Kept != 1 {
		t.Fatalf("late after overdue: %s %+v", out, p)
	}
	// Late before the overdue message: counted missed here.
	p.Make(by2.Add(time.Hour), by2, 3)
	if out := p.Settle(by2.Add(2 * time.Hour)); out != PromiseLate || p.Missed != 2 {
		t.Fatalf("late: %s %+v", out, p)
	}
}
