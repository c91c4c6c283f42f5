package breach

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func nis2Notice() Notice {
	n := pendingNotice()
	n.Obligations = NewObligations([]Regime{RegimeGDPR, RegimeNIS2}, DefaultNIS2Clocks)
	n.Deliver(t1, window, 1)
	return n
}

func TestParsePeriod(t *testing.T) {
	for in, want := range map[string]Period{"24h": {Duration: 24 * time.Hour}, "720h": {Duration: 720 * time.Hour},
		"1 month": {Months: 1}, "2 months": {Months: 2}, "1mo": {Months: 1}, " 3s ": {Duration: 3 * time.Second}} {
		if got, err := ParsePeriod(in); err != nil || got != want {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0s", "-1h", "0 months", "13 months", "a month", "soon"} {
		if _, err := ParsePeriod(in); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", in)
		}
	}
	if got := (Period{Months: 1}).After(time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)); !got.Equal(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("one month after 31 January = %v (time.AddDate normalises)", got)
	}
}

// TestObligationsStartAtDelivery: the NIS2 clocks start when the notice is
// first delivered (early warning +24h, incident notification +72h, final
// report one month after the incident notification's deadline); a
// redelivery or revision moves none of them.
func TestObligationsStartAtDelivery(t *testing.T) {
	n := pendingNotice()
	n.Obligations = NewObligations([]Regime{RegimeNIS2}, DefaultNIS2Clocks)
	for _, o := range n.Obligations {
		if !o.Deadline.IsZero() {
			t.Fatalf("%s has a deadline before delivery", o.Kind)
		}
	}
	n.Deliver(t1, window, 1)
	want := map[ObligationKind]time.Time{ObligationNIS2EarlyWarning: t1.Add(24 * time.Hour),
		ObligationNIS2IncidentNotification: t1.Add(72 * time.Hour), ObligationNIS2FinalReport: t1.Add(72*time.Hour).AddDate(0, 1, 0)}
	for k, d := range want {
		if got := n.Obligation(k).Deadline; !got.Equal(d) {
			t.Errorf("%s deadline %v, want %v", k, got, d)
		}
	}
	n.Deliver(t1.Add(time.Hour), window, 2)
	n.Deliver(t1.Add(2*time.Hour), window, 2)
	for k, d := range want {
		if got := n.Obligation(k).Deadline; !got.Equal(d) {
			t.Errorf("after a revision and a redelivery, %s deadline %v, want %v", k, got, d)
		}
	}
	if NewObligations(nil, DefaultNIS2Clocks) != nil || NewObligations([]Regime{RegimeGDPR}, DefaultNIS2Clocks) != nil {
		t.Error("GDPR alone carries NIS2 obligations")
	}
}

// TestObligationsResolvedSeparately: each obligation is resolved on its
// own; the notice is RESOLVED only once GDPR's and every NIS2 one are;
// outcomes are never changed; reporting the incident notification moves
// the final report's deadline.
func TestObligationsResolvedSeparately(t *testing.T) {
	n := nis2Notice()
	at := t1.Add(2 * time.Hour)
	if _, err := n.RecordObligationReport(ObligationNIS2EarlyWarning, at, "ciso", "CERT-SE", "C-1", at, ""); err != nil {
		t.Fatal(err)
	}
	if n.State != StateAcknowledged || !n.Running() || n.Outcome != nil {
		t.Fatalf("after the early warning: state %v, GDPR outcome %v", n.State, n.Outcome)
	}
	// The same again changes nothing; another reference or kind is refused.
	if ev, err := n.RecordObligationReport(ObligationNIS2EarlyWarning, at, "ciso", "CERT-SE", "C-1", at, ""); ev != "" || err != nil {
		t.Errorf("repeat = %q, %v", ev, err)
	}
	if _, err := n.RecordObligationReport(ObligationNIS2EarlyWarning, at, "ciso", "CERT-SE", "C-2", at, ""); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("another reference: %v", err)
	}
	if _, err := n.RecordObligationNotApplicable(ObligationNIS2EarlyWarning, at, "ciso", "no"); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("not applicable after reported: %v", err)
	}
	// Late without a reason: refused naming the field.
	late := t1.Add(80 * time.Hour)
	var inv *InvalidError
	if _, err := n.RecordObligationReport(ObligationNIS2IncidentNotification, late, "ciso", "CERT-SE", "C-3", late, ""); !errors.As(err, &inv) ||
		inv.Violations[0].Field != "delay_reason" {
		t.Fatalf("late incident notification without a reason: %v", err)
	}
	if _, err := n.RecordObligationReport(ObligationNIS2IncidentNotification, late, "ciso", "CERT-SE", "C-3", late, "weekend"); err != nil {
		t.Fatal(err)
	}
	if o := n.Obligation(ObligationNIS2IncidentNotification).Outcome; !o.Late {
		t.Error("incident notification not marked late")
	}
	if fr := n.Obligation(ObligationNIS2FinalReport); !fr.Deadline.Equal(late.AddDate(0, 1, 0)) || !fr.StartsAt.Equal(late) {
		t.Errorf("final report from %v to %v; want one month after %v", fr.StartsAt, fr.Deadline, late)
	}
	if _, err := n.RecordAuthorityReport(late, "dpo", "IMY", "IMY-1", late, "weekend"); err != nil {
		t.Fatal(err)
	}
	if n.State == StateResolved {
		t.Fatal("RESOLVED with the final report open")
	}
	if _, err := n.RecordObligationNotApplicable(ObligationNIS2FinalReport, late, "ciso", "closed with the incident notification"); err != nil {
		t.Fatal(err)
	}
	if n.State != StateResolved {
		t.Fatalf("state %v with every obligation resolved", n.State)
	}
	// The GDPR kind is today's outcome.
	g := nis2Notice()
	if _, err := g.RecordObligationNotApplicable(ObligationGDPR, at, "dpo", "encrypted"); err != nil || g.Outcome == nil || g.State == StateResolved {
		t.Fatalf("GDPR not reportable: %v, outcome %v, state %v", err, g.Outcome, g.State)
	}
}

// TestObligationRefusals: a NIS2 obligation on a GDPR-only notice, or on a
// notice not yet delivered, is refused with a clear message.
func TestObligationRefusals(t *testing.T) {
	n := deliveredNotice()
	_, err := n.RecordObligationReport(ObligationNIS2EarlyWarning, t1, "ciso", "CERT-SE", "C", t1, "")
	if !errors.Is(err, ErrIllegalTransition) || !strings.Contains(err.Error(), "carries no nis2_early_warning obligation") ||
		!strings.Contains(err.Error(), "regimes: gdpr") {
		t.Errorf("NIS2 on GDPR-only: %v", err)
	}
	p := pendingNotice()
	p.Obligations = NewObligations([]Regime{RegimeNIS2}, DefaultNIS2Clocks)
	if _, err := p.RecordObligationNotApplicable(ObligationNIS2FinalReport, t1, "ciso", "x"); !errors.Is(err, ErrIllegalTransition) {
		t.Errorf("NIS2 on a pending notice: %v", err)
	}
	if _, err := ParseObligationKind("dora"); err == nil {
		t.Error("unknown kind parsed")
	}
}

// TestObligationTimersIndependent: an obligation's reminder and escalation
// are recorded once each, on it alone, and stop when it is resolved.
func TestObligationTimersIndependent(t *testing.T) {
	n := nis2Notice()
	ew := n.Obligation(ObligationNIS2EarlyWarning).Deadline
	if ev := n.RemindObligation(ObligationNIS2EarlyWarning, time.Hour, ew.Add(-time.Hour), ew.Add(-time.Hour), false); ev != EventReminded {
		t.Fatalf("reminder = %q", ev)
	}
	if ev := n.RemindObligation(ObligationNIS2EarlyWarning, time.Hour, ew.Add(-time.Hour), ew, false); ev != "" {
		t.Errorf("second reminder = %q", ev)
	}
	if ev := n.MarkObligationOverdue(ObligationNIS2EarlyWarning, ew); ev != EventOverdue {
		t.Errorf("overdue = %q", ev)
	}
	if len(n.Reminders) != 0 || !n.OverdueAt.IsZero() {
		t.Errorf("the GDPR obligation got the early warning's reminder or escalation: %v %v", n.Reminders, n.OverdueAt)
	}
	if !n.ObligationOverdue(n.Obligation(ObligationNIS2EarlyWarning), ew) || n.Overdue(ew) {
		t.Error("overdue flags mixed up")
	}
	must(n.RecordObligationNotApplicable(ObligationNIS2IncidentNotification, ew, "ciso", "not significant"))
	if ev := n.MarkObligationOverdue(ObligationNIS2IncidentNotification, t1.Add(100*time.Hour)); ev != "" {
		t.Errorf("escalation of a resolved obligation = %q", ev)
	}
	// Withdrawn, then named again: the obligations start over.
	n.Withdraw(ew, "not affected", 2)
	n.Renotify(Affected{Org: n.ID.Org}, 3)
	for _, o := range n.Obligations {
		if o.Outcome != nil || !o.Deadline.IsZero() || len(o.Reminders) != 0 || !o.OverdueAt.IsZero() {
			t.Errorf("after renotify %s = %+v", o.Kind, o)
		}
	}
}

// TestGDPROnlyNoticeJSONUnchanged: a notice under GDPR alone stores no
// obligations, so its record is what it was.
func TestGDPROnlyNoticeJSONUnchanged(t *testing.T) {
	n := deliveredNotice()
	b, _ := json.Marshal(n)
	if strings.Contains(string(b), "obligations") {
		t.Errorf("GDPR-only record holds obligations: %s", b)
	}
	var old Notice
	if err := json.Unmarshal(b, &old); err != nil || old.Obligations != nil || len(old.Regimes()) != 1 {
		t.Errorf("decoded %v, %v", old.Obligations, err)
	}
}

// TestSummaryObligations folds the changes of a GDPR-only and a NIS2
// notice (PrevMarks on the changes that resolve an obligation, as the
// store records them) and checks the per-obligation counts, that the
// incremental summary equals one built from the final notices, and that
// undoing everything gives the empty summary.
func TestSummaryObligations(t *testing.T) {
	var log []Change
	step := func(n *Notice, at time.Time, op func(n *Notice) (Event, error)) {
		prev, prevAcked, marks := n.State, n.RevisionAcked, MarksOf(n)
		ev, err := op(n)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, Change{Event: ev, At: at, Prev: prev, PrevRevisionAcked: prevAcked, PrevMarks: PrevMarksFor(marks, n), Notice: *n})
	}
	g, x := pendingNotice(), pendingNotice()
	g.ID, x.ID = NewNoticeID("INC-1", "gdpr"), NewNoticeID("INC-1", "nis2")
	x.Obligations = NewObligations([]Regime{RegimeNIS2}, DefaultNIS2Clocks)
	for _, n := range []*Notice{&g, &x} {
		c := *n
		log = append(log, Change{Event: EventCreated, Notice: c})
		step(n, t1, func(n *Notice) (Event, error) { return n.Deliver(t1, window, 1), nil })
	}
	at := t1.Add(time.Hour)
	var s Summary
	fold := func() {
		s = Summary{}
		for _, c := range log {
			s.Apply(c.PrevNotice(), &c.Notice)
		}
	}
	fold()
	counts := func(k ObligationKind, now time.Time) ObligationCounts {
		for _, c := range s.ObligationCounts(now) {
			if c.Kind == k {
				return c
			}
		}
		return ObligationCounts{}
	}
	if c := counts(ObligationGDPR, at); c.Open != 2 || c.Resolved != 0 {
		t.Fatalf("GDPR counts %+v", c)
	}
	if c := counts(ObligationNIS2EarlyWarning, t1.Add(25*time.Hour)); c.Open != 1 || c.Overdue != 1 {
		t.Fatalf("early warning counts at +25h %+v", c)
	}
	step(&x, at, func(n *Notice) (Event, error) {
		return n.RecordObligationReport(ObligationNIS2EarlyWarning, at, "ciso", "CERT-SE", "C", at, "")
	})
	step(&x, at, func(n *Notice) (Event, error) { return n.RecordAuthorityReport(at, "dpo", "IMY", "I", at, "") })
	step(&x, at, func(n *Notice) (Event, error) {
		return n.RecordObligationReport(ObligationNIS2IncidentNotification, at, "ciso", "CERT-SE", "C2", at, "")
	})
	step(&g, at, func(n *Notice) (Event, error) { return n.RecordNotReportable(at, "dpo", "encrypted") })
	fold()
	if s.Resolved != 1 || s.Overdue(t1.Add(100*time.Hour)) != 0 {
		t.Errorf("resolved %d (want g alone), overdue %d", s.Resolved, s.Overdue(t1.Add(100*time.Hour)))
	}
	if c := counts(ObligationGDPR, at); c.Open != 0 || c.Resolved != 2 {
		t.Errorf("GDPR counts %+v", c)
	}
	if c := counts(ObligationNIS2FinalReport, at); c.Open != 1 || !c.NextDeadline.Equal(at.AddDate(0, 1, 0)) {
		t.Errorf("final report counts %+v", c)
	}
	var fresh Summary
	fresh.Apply(nil, &g)
	fresh.Apply(nil, &x)
	// As stored (empty maps and absent ones alike).
	if a, b := mustJSON(t, s), mustJSON(t, fresh); a != b {
		t.Errorf("incremental %s != fresh %s", a, b)
	}
	for i := len(log) - 1; i >= 0; i-- {
		c := log[i]
		s.Apply(&c.Notice, c.PrevNotice())
	}
	if s.Total != 0 || s.Delivered != 0 || s.Resolved != 0 || len(s.Obligations) != 0 || len(s.Deadlines) != 0 {
		t.Errorf("after undoing everything: %+v, want zero", s)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
